import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { grafanaDashboard } from '../../scripts/grafana.js';
import { resolveConfig } from '../../src/app/config.js';
import { UnexpectedErrors } from '../../src/app/unexpected.js';
import { LogCapture, startConfiguredBridge } from '../helpers/bridge.js';
import { WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

/** docs/grafana-dashboard.json: its shape, and every metric its queries name, against a running bridge's /metrics. */

interface Target {
  expr: string;
  refId: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  fieldConfig?: { defaults: { unit?: string } };
}
interface Variable {
  name: string;
  type: string;
  query: unknown;
  datasource?: { uid: string };
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  time: { from: string; to: string };
}

/** PromQL words that are neither functions (followed by a parenthesis) nor metrics. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: strings, label matchers, ranges and label lists
 * are dropped, then every identifier that is not a function call or a keyword is a metric.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = [...stripped.matchAll(/(?<![\w:.$])[A-Za-z_:][\w:]*\b(?!\s*\()/g)].map(([name]) => name);
  return names.filter((name) => !KEYWORDS.has(name.toLowerCase()));
}

/** Every series name /metrics may serve: each family, with its histogram's or summary's series. */
function servedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name = '', type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  for (const [, name = ''] of text.matchAll(/^([A-Za-z_:][\w:]*)[{ ]/gm)) names.add(name);
  return names;
}

const overlaps = (a: Panel['gridPos'], b: Panel['gridPos']): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('docs/grafana-dashboard.json', () => {
  it('is what npm run docs:grafana writes, and has the shape Grafana imports: a datasource variable, panels with ids, places and queries', async () => {
    const dashboard = JSON.parse(await readFile('docs/grafana-dashboard.json', 'utf8')) as Dashboard;
    expect(dashboard, 'docs/grafana-dashboard.json is not current: run npm run docs:grafana').toEqual(grafanaDashboard());
    expect([typeof dashboard.title, typeof dashboard.uid, typeof dashboard.schemaVersion]).toEqual(['string', 'string', 'number']);
    expect(dashboard.time).toEqual({ from: expect.any(String) as string, to: 'now' });
    const datasource = dashboard.templating.list.find((variable) => variable.type === 'datasource');
    expect(datasource).toMatchObject({ name: 'datasource', query: 'prometheus' });
    for (const variable of dashboard.templating.list.filter((entry) => entry.type === 'query')) expect(variable.datasource?.uid).toBe('${datasource}');

    const ids = dashboard.panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const placed: Panel['gridPos'][] = [];
    for (const panel of dashboard.panels) {
      const { h, w, x, y } = panel.gridPos;
      expect([h, w, x, y].every(Number.isInteger), panel.title).toBe(true);
      expect(h >= 1 && w >= 1 && x >= 0 && y >= 0 && x + w <= 24, `${panel.title} is off the 24-column grid`).toBe(true);
      expect(
        placed.some((other) => overlaps(other, panel.gridPos)),
        `${panel.title} overlaps another panel`,
      ).toBe(false);
      placed.push(panel.gridPos);
      expect(['row', 'timeseries', 'stat']).toContain(panel.type);
      if (panel.type === 'row') continue;
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      expect(panel.fieldConfig?.defaults.unit, `${panel.title} has no unit`).toEqual(expect.any(String));
      const targets = panel.targets ?? [];
      expect(targets.length, `${panel.title} has no query`).toBeGreaterThan(0);
      expect(new Set(targets.map((target) => target.refId)).size).toBe(targets.length);
      for (const target of targets) {
        expect(target.datasource.uid).toBe('${datasource}');
        expect(target.expr).toContain('instance=~"$instance"');
      }
    }
    expect(dashboard.panels.filter((panel) => panel.type !== 'row').length).toBeGreaterThan(20);
  });

  it('queries only metrics a running bridge serves at /metrics, and charts every metric of its own', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    // With the process's last line of defence, as the command starts it: its counter is in /metrics.
    const bridge = await startConfiguredBridge(resolveConfig({ port: 0, sources: [{ path: dir }] }), {
      logger: new LogCapture('warn').logger,
      unexpected: new UnexpectedErrors(),
    });
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['*']);
    await waitFor('the snapshots', () => client.mirror.snapshots === 3);
    await files.step();
    await waitFor('a patch', () => client.mirror.patches > 0);
    const response = await fetch(`${bridge.url}/metrics`);
    expect(response.status).toBe(200);
    const served = servedNames(await response.text());

    const dashboard = JSON.parse(await readFile('docs/grafana-dashboard.json', 'utf8')) as Dashboard;
    const expressions = [
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
      // Grafana's label_values(metric, label): the metric is a selector; the label (instance) is Prometheus's own, set at scrape.
      ...dashboard.templating.list.flatMap((variable) =>
        variable.type === 'query' ? [(variable.query as { query: string }).query.replace(/^label_values\((.+), *\w+\)$/, '$1')] : [],
      ),
    ];
    const queried = new Set<string>();
    const unknown: string[] = [];
    for (const expr of expressions) {
      const names = metricNames(expr);
      expect(names.length, `no metric found in ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        queried.add(name);
        if (!served.has(name)) unknown.push(`${name} (in ${expr})`);
      }
    }
    expect(unknown).toEqual([]);
    // The parsing finds what it should: a histogram's buckets, a metric inside time() - max(...).
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{x=~"$y", le!="+Inf"}[$__rate_interval])))')).toEqual(['a_bucket']);
    expect(metricNames('time() - max(b{instance=~"$instance"}) / on (job) c offset 5m')).toEqual(['b', 'c']);

    // Every metric of the bridge's own (not prom-client's process defaults) is on a panel.
    const family = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');
    const charted = new Set([...queried].map(family));
    const own = [...served].filter((name) => name.startsWith('tapebridge_') && !/^tapebridge_(process|nodejs)_/.test(name)).map(family);
    expect([...new Set(own)].filter((name) => !charted.has(name))).toEqual([]);
    await client.close();
  });
});
