import { connect } from './client/index.js';
import { Detail } from './detail.js';
import { SummaryStream } from './summary-stream.js';
import { shownName, symbolOfHash } from './symbol-name.js';
import { SymbolsTable } from './symbols-table.js';

// `/?token=...` passes a bearer token on to the bridge.
const token = new URLSearchParams(location.search).get('token') ?? undefined;
const base = new URL('./', location.href).href;
// Once read, the token leaves the address bar (and so history, bookmarks and screenshots).
if (token !== undefined) {
  const address = new URL(location.href);
  address.searchParams.delete('token');
  history.replaceState(history.state, '', `${address.pathname}${address.search}${address.hash}`);
}
const $ = (selector) => document.querySelector(selector);

const client = connect(base, token ? { token } : {});
const detail = new Detail(client, $('.detail'));
const table = new SymbolsTable($('#symbols'), $('#no-symbols'), select);
let epoch = null;
let bannerTimer = null;

function select(symbol) {
  table.select(symbol);
  detail.show(symbol);
  history.replaceState(null, '', `${location.search}#${encodeURIComponent(symbol)}`);
}

function banner(kind, text) {
  const node = $('#banner');
  clearTimeout(bannerTimer);
  node.dataset.kind = kind;
  node.textContent = text;
  node.hidden = false;
  if (kind === 'recovered') bannerTimer = setTimeout(() => (node.hidden = true), 5000);
}

/** The health report: components for an admin token; status and counts for the others. */
function showHealth(health) {
  const badge = $('#health');
  badge.dataset.status = health.status;
  badge.textContent = `health: ${health.status}`;
  if (!health.components) {
    const item = document.createElement('li');
    item.className = 'muted';
    item.textContent = Object.entries(health.counts ?? {})
      .map(([status, count]) => `${status} ${count}`)
      .join(' · ');
    $('#components').replaceChildren(item);
    return;
  }
  $('#components').replaceChildren(
    ...Object.entries(health.components).map(([name, component]) => {
      const item = document.createElement('li');
      item.dataset.component = name;
      const label = document.createElement('strong');
      label.textContent = name;
      const status = document.createElement('span');
      status.className = 'badge';
      status.dataset.status = component.status;
      status.textContent = component.status;
      const details = document.createElement('span');
      details.className = 'muted';
      details.textContent = describe(component);
      item.append(label, status, details);
      return item;
    }),
  );
}

/** A component's details in one line: numbers and words as they are, lists by their length. */
function describe(component) {
  return Object.entries(component)
    .filter(([key]) => key !== 'status')
    .map(([key, value]) => {
      if (Array.isArray(value)) return `${key}: ${value.length}`;
      if (value && typeof value === 'object')
        return `${key}: ${Object.entries(value)
          .map(([k, v]) => `${k} ${typeof v === 'object' ? '…' : v}`)
          .join(', ')}`;
      return `${key}: ${value}`;
    })
    .join(' · ');
}

new SummaryStream(token ? `v1/dashboard/sse?token=${encodeURIComponent(token)}` : 'v1/dashboard/sse', {
  onSummary(summary) {
    if (epoch !== null && summary.epoch !== epoch) banner('recovered', 'The bridge restarted; showing the new instance.');
    epoch = summary.epoch;
    $('#epoch').textContent = `epoch ${summary.epoch}`;
    // A name the SDK would refuse, or one that could display as another, is not shown.
    const rows = summary.symbols.filter((row) => shownName(row.symbol));
    table.render({ ...summary, symbols: rows });
    showHealth(summary.health);
    const wanted = symbolOfHash(location.hash);
    if (detail.symbol === null && rows.length > 0) {
      select(rows.some((row) => row.symbol === wanted) ? wanted : rows[0].symbol);
    }
  },
  onState(state, previous) {
    const badge = $('#connection');
    badge.dataset.state = state;
    badge.textContent = { connecting: 'connecting…', live: 'live', stale: 'stale: no summary lately', disconnected: 'disconnected' }[state];
    table.setLive(state === 'live');
    if (state === 'disconnected') {
      $('#health').dataset.status = '';
      $('#health').textContent = 'health: unknown';
    }
    if (state === 'disconnected') banner('lost', 'Connection to the bridge lost. Reconnecting…');
    else if (state === 'live' && (previous === 'disconnected' || previous === 'stale')) banner('recovered', 'Connection to the bridge is back.');
  },
});
