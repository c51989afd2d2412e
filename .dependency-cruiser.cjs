/**
 * The floors of src/ (docs/architecture.md), each importing only from below:
 *   1 model/, core/   2 formats/, derive/   3 watch/, state/, sim/   4 hub/, cluster/   5 transports/   6 app/   7 cli.ts, index.ts
 * The SDK (client/) imports only model/.
 */
const FLOORS = {
  model: [],
  core: ['model'],
  formats: ['model', 'core'],
  derive: ['model', 'core'],
  watch: ['model', 'core', 'formats', 'derive'],
  state: ['model', 'core', 'formats', 'derive'],
  sim: ['model', 'core', 'formats'],
  hub: ['model', 'core', 'formats', 'derive', 'state'],
  cluster: ['model', 'core', 'formats', 'derive', 'state'],
  transports: ['model', 'core', 'formats', 'derive', 'state', 'hub'],
  app: ['model', 'core', 'formats', 'derive', 'watch', 'state', 'sim', 'hub', 'cluster', 'transports'],
  client: ['model'],
};

const floorRules = Object.entries(FLOORS).map(([floor, below]) => ({
  name: `${floor}-imports-only-below`,
  comment: `${floor}/ may import only ${below.length ? below.join(', ') : 'nothing else of the project'} (and itself)`,
  severity: 'error',
  from: { path: `^src/${floor}/` },
  to: { path: '^src/', pathNot: [`^src/(${[floor, ...below].join('|')})/`] },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'import cycles', from: {}, to: { circular: true } },
    ...floorRules,
    {
      name: 'nothing-imports-the-top',
      severity: 'error',
      comment: 'cli.ts and index.ts are the top floor',
      from: { path: '^src/' },
      to: { path: '^src/(cli|index)\\.ts$' },
    },
    {
      name: 'pure-libraries-do-no-io',
      severity: 'error',
      comment: 'model/, formats/ and derive/ compute on what they are given: the file, socket and process modules belong to the stages that own them',
      from: { path: '^src/(model|formats|derive)/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|net|http|https|http2|tls|dgram|child_process|cluster|worker_threads)$' },
    },
    { name: 'no-orphans', severity: 'error', from: { orphan: true, path: '^src/', pathNot: ['^src/(cli|index)\\.ts$', '\\.d\\.ts$'] }, to: {} },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
