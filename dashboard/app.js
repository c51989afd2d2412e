import { connect } from './client/index.js';
import { Detail } from './detail.js';
import { HealthPanel } from './health-panel.js';
import { SourcesPanel } from './sources-panel.js';
import { SummaryStream } from './summary-stream.js';
import { hashOf, shownName, stateOfHash } from './symbol-name.js';
import { SymbolsTable } from './symbols-table.js';

/** How often the sources panel and the latency chart ask the bridge again. */
const POLL_MS = 1000;

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

/** A route's JSON with the page's token; null for 401/403 (the token may not read it). */
async function fetchJson(path) {
  const response = await fetch(new URL(path, base), { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  if (response.status === 401 || response.status === 403) return null;
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

const options = token ? { token } : {};
// Two clients: the SDK takes one list of parts per client, and the table's view (`/quote` of
// every symbol) is not the selected symbol's (its quote, book and one window).
const client = connect(base, options);
const quotes = connect(base, options);
const detail = new Detail(client, $('.detail'), fetchJson, (symbol, timeframe) => {
  history.replaceState(null, '', `${location.search}${hashOf(symbol, timeframe)}`);
});
const table = new SymbolsTable($('#symbols'), $('#no-symbols'), select);
const health = new HealthPanel($('#components'), $('#latency'), $('#latency-note'));
const sources = new SourcesPanel($('#sources'), $('#no-sources'), $('#sources-filter'));
let epoch = null;
let bannerTimer = null;

quotes.subscribe(
  ['*'],
  (document, update) => {
    if (shownName(update.symbol)) table.quote(update.symbol, document.quote ?? {});
  },
  { parts: ['/quote'] },
);

function select(symbol, timeframe = null) {
  table.select(symbol);
  void detail.show(symbol, timeframe);
}

// The address names a symbol and timeframe: `#/ESZ25_FUT_CME/M5` (typed, or back and forward).
addEventListener('hashchange', () => {
  const wanted = stateOfHash(location.hash);
  if (wanted.symbol) select(wanted.symbol, wanted.timeframe);
});

const search = $('#search');
search.addEventListener('input', () => table.search(search.value));
search.addEventListener('keydown', (event) => {
  if (event.key === 'ArrowDown') {
    event.preventDefault();
    table.focusFirst();
  } else if (event.key === 'Enter') {
    const first = table.visible()[0];
    if (first) select(first.dataset.symbol);
  } else if (event.key === 'Escape') {
    search.value = '';
    table.search('');
  }
});
// `/` anywhere puts the cursor in the search box.
addEventListener('keydown', (event) => {
  if (event.key === '/' && document.activeElement?.tagName !== 'INPUT') {
    event.preventDefault();
    search.focus();
  }
});

function banner(kind, text) {
  const node = $('#banner');
  clearTimeout(bannerTimer);
  node.dataset.kind = kind;
  node.textContent = text;
  node.hidden = false;
  if (kind === 'recovered') bannerTimer = setTimeout(() => (node.hidden = true), 5000);
}

async function poll() {
  try {
    const [files, stats] = await Promise.all([fetchJson('v1/sources'), fetchJson('v1/stats')]);
    if (files) sources.show(files);
    health.stats(stats);
  } catch {
    // The bridge is away: the digest's state says so; the next poll tries again.
  }
  setTimeout(poll, POLL_MS);
}
void poll();

new SummaryStream(token ? `v1/dashboard/sse?token=${encodeURIComponent(token)}` : 'v1/dashboard/sse', {
  onSummary(summary) {
    if (epoch !== null && summary.epoch !== epoch) banner('recovered', 'The bridge restarted; showing the new instance.');
    epoch = summary.epoch;
    $('#epoch').textContent = `epoch ${summary.epoch}`;
    // A name the SDK would refuse, or one that could display as another, is not shown.
    const rows = summary.symbols.filter((row) => shownName(row.symbol));
    table.render({ ...summary, symbols: rows });
    const badge = $('#health');
    badge.dataset.status = summary.health.status;
    badge.textContent = `health: ${summary.health.status}`;
    health.show(summary.health, summary.time);
    if (detail.symbol === null && rows.length > 0) {
      const wanted = stateOfHash(location.hash);
      const symbol = rows.some((row) => row.symbol === wanted.symbol) ? wanted.symbol : rows[0].symbol;
      select(symbol, symbol === wanted.symbol ? wanted.timeframe : null);
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
