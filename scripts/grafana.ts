/**
 * The Grafana dashboard of the bridge's Prometheus metrics (docs/operations.md "Metrics and
 * stats"): scripts/gen-grafana.ts writes it to docs/grafana-dashboard.json, and
 * test/e2e/grafana.test.ts checks that file is this dashboard, that it has the shape Grafana
 * imports, and that every metric its queries name is one a running bridge serves at /metrics.
 * Typed with Grafana's own dashboard schema (@grafana/schema), so that tsc checks the shape.
 */

import {
  DashboardCursorSync,
  FieldColorModeId,
  MappingType,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DataSourceRef,
  type Panel,
  type RowPanel,
  type Threshold,
  type ValueMapping,
} from '@grafana/schema';

/** Every query keeps to the instances picked in the dashboard's `instance` variable. */
const ON = 'instance=~"$instance"';
const m = (name: string, matchers = ''): string => `${name}{${ON}${matchers ? `, ${matchers}` : ''}}`;
const rate = (name: string): string => `rate(${m(name)}[$__rate_interval])`;
const increase = (name: string): string => `increase(${m(name)}[$__rate_interval])`;
const quantile = (q: number, histogram: string): string => `histogram_quantile(${q}, sum by (le) (${rate(`${histogram}_bucket`)}))`;

const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

interface Query {
  expr: string;
  legend: string;
}
const q = (expr: string, legend = ''): Query => ({ expr, legend });

interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  width: number;
  height?: number;
  kind?: 'timeseries' | 'stat';
  /** Stat panels: value to text and colour. */
  mappings?: ValueMapping[];
  thresholds?: Threshold[];
}

interface Row {
  title: string;
  panels: PanelSpec[];
}

const panel = (title: string, unit: string, width: number, description: string, queries: Query[], more: Partial<PanelSpec> = {}): PanelSpec => ({
  title,
  unit,
  width,
  description,
  queries,
  ...more,
});
const stat = (title: string, unit: string, description: string, query: Query, more: Partial<PanelSpec> = {}): PanelSpec =>
  panel(title, unit, 3, description, [query], { kind: 'stat', height: 4, ...more });

const HEALTH_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '0': { text: 'HEALTHY', color: 'green', index: 0 },
      '1': { text: 'DEGRADED', color: 'orange', index: 1 },
      '2': { text: 'UNHEALTHY', color: 'red', index: 2 },
    },
  },
];

const ROWS: Row[] = [
  {
    title: 'Overview',
    panels: [
      stat(
        'Health',
        'none',
        'The worst status of the instances picked (GET /health): HEALTHY, DEGRADED or UNHEALTHY.',
        q(`max(${m('tapebridge_health_status')})`),
        {
          mappings: HEALTH_MAPPINGS,
          thresholds: [
            { color: 'green', value: null },
            { color: 'orange', value: 1 },
            { color: 'red', value: 2 },
          ],
        },
      ),
      stat('Symbols', 'short', 'Symbols published.', q(`sum(${m('tapebridge_symbols')})`)),
      stat('Clients', 'short', 'Connected WebSocket, SSE and dashboard clients.', q(`sum(${m('tapebridge_clients')})`)),
      stat('Commits', 'suffix: /s', 'Patches committed per second, all symbols.', q(`sum(${rate('tapebridge_patches_total')})`)),
      stat(
        'Write to send p99',
        's',
        'The 99th percentile of the time from a file write to the hand-off to the transports.',
        q(quantile(0.99, 'tapebridge_write_to_send_seconds')),
        {
          thresholds: [
            { color: 'green', value: null },
            { color: 'orange', value: 0.05 },
            { color: 'red', value: 0.25 },
          ],
        },
      ),
      stat('Uptime', 's', 'Since the process started (the youngest instance).', q(`time() - max(${m('tapebridge_process_start_time_seconds')})`)),
      stat(
        'Unexpected errors',
        'short',
        'Exceptions and rejections nothing handled since the start: the bridge kept serving, /health stays DEGRADED; a restart is due (docs/security.md).',
        q(`sum(${m('tapebridge_unexpected_errors_total')})`),
        {
          thresholds: [
            { color: 'green', value: null },
            { color: 'red', value: 1 },
          ],
        },
      ),
      stat('Memory', 'bytes', 'Resident set size (health.maxRssBytes), the largest instance.', q(`max(${m('tapebridge_process_resident_memory_bytes')})`)),
    ],
  },
  {
    title: 'Latency',
    panels: [
      panel(
        'Write to send',
        's',
        12,
        "File modification time to the hub handing the message to the transports: what a user waits for, with the file system's coarse timestamp (up to a scheduler tick high).",
        [0.5, 0.9, 0.99].map((p) => q(quantile(p, 'tapebridge_write_to_send_seconds'), `p${p * 100}`)),
      ),
      panel(
        'Read to send',
        's',
        12,
        "Start of the read that found the change to the same hand-off, on one monotonic clock: the bridge's own part.",
        [0.5, 0.9, 0.99].map((p) => q(quantile(p, 'tapebridge_read_to_send_seconds'), `p${p * 100}`)),
      ),
    ],
  },
  {
    title: 'Streams',
    panels: [
      panel('Clients by transport', 'short', 8, 'Connected clients per transport.', [q(`sum by (transport) (${m('tapebridge_clients')})`, '{{transport}}')]),
      panel('Deliveries', 'suffix: msg/s', 8, 'Messages handed to client connections per second, by transport.', [
        q(`sum by (transport) (${rate('tapebridge_deliveries_total')})`, '{{transport}}'),
      ]),
      panel('Commits and patch bytes', 'suffix: /s', 8, 'Patches committed per second, and their ops in bytes per second (right axis).', [
        q(`sum(${rate('tapebridge_patches_total')})`, 'patches'),
        q(`sum(${rate('tapebridge_patch_bytes_total')})`, 'bytes'),
      ]),
      panel('Slow consumers', 'short', 8, 'Slow consumer handling per interval: paused, resnapshot, closed (stream.slowConsumer).', [
        q(`sum by (action) (${increase('tapebridge_slow_consumer_actions_total')})`, '{{action}}'),
      ]),
      panel('Refusals', 'short', 8, 'What access control and limits refused per interval, by reason.', [
        q(`sum by (reason) (${increase('tapebridge_refusals_total')})`, '{{reason}}'),
      ]),
      panel('Journal', 'bytes', 8, 'Bytes of patches held for resume, against journal.maxBytes; the patches held on the right axis.', [
        q(`sum(${m('tapebridge_journal_bytes')})`, 'held'),
        q(`max(${m('tapebridge_journal_bytes_max')})`, 'max'),
        q(`sum(${m('tapebridge_journal_entries')})`, 'patches'),
      ]),
    ],
  },
  {
    title: 'Files',
    panels: [
      panel('Reads', 'suffix: /s', 8, 'File reads per second by outcome: changed, unchanged, retry, failed, gone.', [
        q(`sum by (outcome) (${rate('tapebridge_reads_total')})`, '{{outcome}}'),
      ]),
      panel('Watcher events', 'suffix: /s', 8, 'Watcher events (hints to read) per second: add, change, unlink.', [
        q(`sum by (event) (${rate('tapebridge_file_events_total')})`, '{{event}}'),
      ]),
      panel('Bytes read', 'Bps', 8, 'Bytes read from the watched files per second, by folder.', [
        q(`sum by (source) (${rate('tapebridge_read_bytes_total')})`, '{{source}}'),
      ]),
      panel('Parse errors', 'short', 8, 'Records or lines that did not decode, and files not readable as their format, per interval, by folder.', [
        q(`sum by (source) (${increase('tapebridge_parse_errors_total')})`, '{{source}}'),
      ]),
      panel('Circuit breakers', 'short', 8, 'Watched files per breaker state (closed, open, half-open).', [
        q(`sum by (state) (${m('tapebridge_breakers')})`, '{{state}}'),
      ]),
      panel('Breaker transitions', 'short', 8, 'Breaker transitions per interval, by the new state.', [
        q(`sum by (to) (${increase('tapebridge_breaker_transitions_total')})`, '{{to}}'),
      ]),
      panel(
        'Warm-up',
        'bytes',
        8,
        'History still to read behind the tails served first (watch.tailFirstBytes); the files still warming up on the right axis.',
        [q(`sum(${m('tapebridge_warmup_bytes_left')})`, 'bytes left'), q(`sum(${m('tapebridge_warmup_files_left')})`, 'files left')],
      ),
      panel('Symbols held', 'short', 8, 'Symbols held (published or not yet), against document.maxSymbols and document.maxSymbolsPerFile.', [
        q(`sum(${m('tapebridge_symbols_held')})`, 'held'),
        q(`max(${m('tapebridge_symbols_max')})`, 'max'),
        q(`max(${m('tapebridge_symbols_per_file_max')})`, 'max per file'),
      ]),
      panel(
        'Data refused',
        'short',
        8,
        'Records or symbols refused for what the files hold, per interval: symbolsPerFile, symbols, symbolName, future, past.',
        [q(`sum by (reason) (${increase('tapebridge_data_refused_total')})`, '{{reason}}')],
      ),
    ],
  },
  {
    title: 'Caches',
    panels: [
      panel('On-demand cache hit ratio', 'percentunit', 8, 'Bars and indicators answers served without computing, by kind.', [
        q(
          `sum by (kind) (${rate('tapebridge_cache_hits_total')}) / (sum by (kind) (${rate('tapebridge_cache_hits_total')}) + sum by (kind) (${rate('tapebridge_cache_misses_total')}))`,
          '{{kind}}',
        ),
      ]),
      panel('On-demand cache', 'bytes', 8, 'Bytes the on-demand cache holds (cache.maxBytes); its entries on the right axis.', [
        q(`sum(${m('tapebridge_cache_bytes')})`, 'bytes'),
        q(`sum(${m('tapebridge_cache_entries')})`, 'entries'),
      ]),
      panel(
        'On-demand cache churn',
        'short',
        8,
        'Per interval: answers that waited for a computation under way, entries evicted for room, and entries expired.',
        [
          q(`sum(${increase('tapebridge_cache_coalesced_total')})`, 'coalesced'),
          q(`sum(${increase('tapebridge_cache_evictions_total')})`, 'evicted'),
          q(`sum(${increase('tapebridge_cache_expirations_total')})`, 'expired'),
        ],
      ),
      panel('Snapshot cache hit ratio', 'percentunit', 8, 'Snapshots served from the JSON already serialised for that version.', [
        q(
          `sum(${rate('tapebridge_snapshot_cache_hits_total')}) / (sum(${rate('tapebridge_snapshot_cache_hits_total')}) + sum(${rate('tapebridge_snapshot_cache_misses_total')}))`,
          'hit ratio',
        ),
      ]),
      panel('Checkpoint at start', 'short', 8, 'Files a checkpoint held at start: resumed from it, or read again from their start.', [
        q(`sum by (outcome) (${m('tapebridge_checkpoint_files_total')})`, '{{outcome}}'),
      ]),
      panel(
        'Notifications and config changes',
        'short',
        8,
        'Webhook notifications (sent, failed, dropped) and configuration changes (applied, refused) per interval.',
        [
          q(`sum by (result) (${increase('tapebridge_notifications_total')})`, 'notification {{result}}'),
          q(`sum by (result) (${increase('tapebridge_config_changes_total')})`, 'config {{result}}'),
        ],
      ),
    ],
  },
  {
    title: 'Cluster (--redis)',
    panels: [
      panel(
        'Published to Redis',
        'suffix: /s',
        8,
        'An ingest node: versions written to Redis per second, and the bytes of their messages and documents (right axis).',
        [q(`sum(${rate('tapebridge_cluster_published_total')})`, 'versions'), q(`sum(${rate('tapebridge_cluster_published_bytes_total')})`, 'bytes')],
      ),
      panel('Taken from Redis', 'suffix: /s', 8, 'An edge node: versions taken from Redis per second.', [
        q(`sum by (instance) (${rate('tapebridge_cluster_applied_total')})`, '{{instance}}'),
      ]),
      panel(
        'Cluster trouble',
        'short',
        8,
        'Per interval: failed writes to Redis (the symbol is published again), gaps filled from the stream, gaps sent to clients as fresh snapshots, entries refused as bad data, and SSE cursors of another edge resumed from its log or not resolved (fresh snapshots).',
        [
          q(`sum(${increase('tapebridge_cluster_publish_errors_total')})`, 'publish errors'),
          q(`sum(${increase('tapebridge_cluster_gaps_filled_total')})`, 'gaps filled'),
          q(`sum(${increase('tapebridge_cluster_resnapshots_total')})`, 'resnapshots'),
          q(`sum(${increase('tapebridge_cluster_bad_data_total')})`, 'bad data'),
          q(`sum(${increase('tapebridge_cluster_cursors_relayed_total')})`, 'SSE cursors relayed'),
          q(`sum(${increase('tapebridge_cluster_cursors_unresolved_total')})`, 'SSE cursors unresolved'),
        ],
      ),
    ],
  },
  {
    title: 'Process',
    panels: [
      panel('Event loop lag', 's', 6, 'How late timers run: the bridge is single-threaded, so this is how long a ready message may wait.', [
        q(`max(${m('tapebridge_nodejs_eventloop_lag_p50_seconds')})`, 'p50'),
        q(`max(${m('tapebridge_nodejs_eventloop_lag_p99_seconds')})`, 'p99'),
        q(`max(${m('tapebridge_nodejs_eventloop_lag_max_seconds')})`, 'max'),
      ]),
      panel('Memory', 'bytes', 6, 'Resident set size (health.maxRssBytes), and the V8 heap.', [
        q(`sum(${m('tapebridge_process_resident_memory_bytes')})`, 'rss'),
        q(`sum(${m('tapebridge_nodejs_heap_size_used_bytes')})`, 'heap used'),
        q(`sum(${m('tapebridge_nodejs_heap_size_total_bytes')})`, 'heap total'),
        q(`sum(${m('tapebridge_nodejs_external_memory_bytes')})`, 'external'),
      ]),
      panel('CPU', 'percentunit', 6, 'CPU time per second (1 is one core), and the share of it spent in garbage collection.', [
        q(`sum(${rate('tapebridge_process_cpu_seconds_total')})`, 'cpu'),
        q(`sum(${rate('tapebridge_nodejs_gc_duration_seconds_sum')})`, 'gc'),
      ]),
      panel('File descriptors', 'short', 6, 'Open file descriptors (watched files, sockets) against the limit.', [
        q(`sum(${m('tapebridge_process_open_fds')})`, 'open'),
        q(`min(${m('tapebridge_process_max_fds')})`, 'max'),
      ]),
    ],
  },
];

/** Series whose legend is on the right axis, with their own unit. */
const RIGHT_AXIS: Record<string, string> = { bytes: 'Bps', patches: 'short', 'files left': 'short', entries: 'short' };

function targets(queries: Query[]): NonNullable<Panel['targets']> {
  return queries.map(({ expr, legend }, index) => ({
    datasource: DATASOURCE,
    expr,
    legendFormat: legend === '' ? '__auto' : legend,
    range: true,
    refId: String.fromCharCode(65 + index),
  }));
}

function overrides(spec: PanelSpec): NonNullable<Panel['fieldConfig']>['overrides'] {
  if (spec.queries.length < 2) return [];
  return spec.queries
    .filter(({ legend }) => RIGHT_AXIS[legend] !== undefined && RIGHT_AXIS[legend] !== spec.unit)
    .map(({ legend }) => ({
      matcher: { id: 'byName', options: legend },
      properties: [
        { id: 'unit', value: RIGHT_AXIS[legend] },
        { id: 'custom.axisPlacement', value: 'right' },
      ],
    }));
}

function grafanaPanel(spec: PanelSpec, id: number, gridPos: NonNullable<Panel['gridPos']>): Panel {
  const common = {
    id,
    type: spec.kind ?? 'timeseries',
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    targets: targets(spec.queries),
  };
  const thresholds = { mode: ThresholdsMode.Absolute, steps: spec.thresholds ?? [{ color: 'green', value: null }] };
  if (spec.kind === 'stat') {
    return {
      ...common,
      fieldConfig: { defaults: { unit: spec.unit, mappings: spec.mappings ?? [], thresholds, color: { mode: FieldColorModeId.Thresholds } }, overrides: [] },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'value',
        graphMode: spec.mappings ? 'none' : 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
    };
  }
  return {
    ...common,
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        min: 0,
        color: { mode: FieldColorModeId.PaletteClassic },
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false, axisPlacement: 'auto' },
        thresholds,
      },
      overrides: overrides(spec),
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };
}

/** The rows and their panels laid out on Grafana's 24-column grid, left to right, top to bottom. */
function layout(): (Panel | RowPanel)[] {
  const panels: (Panel | RowPanel)[] = [];
  let id = 0;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: ++id, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const spec of row.panels) {
      const h = spec.height ?? 8;
      if (x + spec.width > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push(grafanaPanel(spec, ++id, { h, w: spec.width, x, y }));
      x += spec.width;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return panels;
}

export function grafanaDashboard(): Dashboard {
  return {
    title: 'tapebridge',
    uid: 'tapebridge',
    description: "The bridge's Prometheus metrics (GET /metrics): health, latency, streams, files, caches, process. docs/operations.md lists every metric.",
    tags: ['tapebridge'],
    editable: true,
    graphTooltip: DashboardCursorSync.Crosshair,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',

          refresh: VariableRefresh.onDashboardLoad,
          options: [],
        },
        {
          name: 'instance',
          label: 'Instance',
          type: 'query',
          datasource: DATASOURCE,
          query: { query: 'label_values(tapebridge_health_status, instance)', refId: 'instances' },
          refresh: VariableRefresh.onTimeRangeChanged,
          includeAll: true,
          multi: true,
          allValue: '.*',

          options: [],
          sort: VariableSort.alphabeticalAsc,
        },
      ],
    },
    panels: layout(),
  };
}
