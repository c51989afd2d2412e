import { age, decimalsOf, price } from './format.js';

const COLUMNS = ['symbol', 'last', 'bid', 'ask', 'change', 'updated', 'rate'];

/**
 * The table of symbols. Its rows, change, update time and rate come from the digest
 * (`/v1/dashboard/sse`, which also says what is stale); its last, bid and ask from a `/quote`
 * view of every symbol (PROTOCOL.md §8), so they move with each tick, not once a summary.
 * Changed cells flash. The search box filters rows; arrow keys move through the rows and
 * Enter selects one.
 */
export class SymbolsTable {
  #table;
  #body;
  #empty;
  #onSelect;
  #rows = new Map();
  #quotes = new Map();
  /** Decimals seen per symbol: its prices are shown with that many. */
  #decimals = new Map();
  #selected = null;
  #query = '';

  /**
   * @param {HTMLTableElement} table
   * @param {HTMLElement} empty shown while there is no symbol
   * @param {(symbol: string) => void} onSelect
   */
  constructor(table, empty, onSelect) {
    this.#table = table;
    this.#body = table.tBodies[0];
    this.#empty = empty;
    this.#onSelect = onSelect;
    this.#body.addEventListener('keydown', (event) => this.#key(event));
  }

  render(summary) {
    const present = new Set();
    for (const row of summary.symbols) {
      present.add(row.symbol);
      this.#fill(this.#rows.get(row.symbol) ?? this.#add(row.symbol), row, summary);
    }
    for (const [symbol, tr] of this.#rows) {
      if (present.has(symbol)) continue;
      tr.remove();
      this.#rows.delete(symbol);
    }
    this.#filter();
  }

  /** A symbol's quote from the view: its prices, between two summaries. */
  quote(symbol, quote) {
    this.#quotes.set(symbol, quote);
    this.#learn(symbol, [quote.bid, quote.ask, quote.last]);
    const tr = this.#rows.get(symbol);
    if (tr) this.#prices(tr, symbol, {});
  }

  select(symbol) {
    this.#selected = symbol;
    for (const [name, tr] of this.#rows) tr.setAttribute('aria-selected', String(name === symbol));
  }

  /** Greys everything out while the digest is not live. */
  setLive(live) {
    this.#table.classList.toggle('disconnected', !live);
  }

  /** Keeps the rows whose symbol contains `query` (case-insensitive). */
  search(query) {
    this.#query = query.trim().toLowerCase();
    this.#filter();
  }

  /** The rows shown, in order. */
  visible() {
    return [...this.#body.rows].filter((tr) => !tr.hidden);
  }

  /** Puts the keyboard focus on the first row shown (from the search box). */
  focusFirst() {
    this.visible()[0]?.focus();
  }

  #filter() {
    for (const [symbol, tr] of this.#rows) tr.hidden = this.#query !== '' && !symbol.toLowerCase().includes(this.#query);
    const shown = this.visible().length;
    this.#empty.hidden = shown > 0;
    this.#empty.textContent = this.#rows.size === 0 ? 'No symbols yet.' : 'No symbol matches the search.';
  }

  #key(event) {
    const rows = this.visible();
    const at = rows.indexOf(event.target.closest('tr'));
    if (at < 0) return;
    const move = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10, Home: -Infinity, End: Infinity }[event.key];
    if (move !== undefined) {
      event.preventDefault();
      rows[Math.max(0, Math.min(rows.length - 1, at + move))]?.focus();
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.#onSelect(rows[at].dataset.symbol);
    }
  }

  #add(symbol) {
    const tr = this.#body.insertRow();
    tr.dataset.symbol = symbol;
    tr.tabIndex = 0;
    for (const column of COLUMNS) tr.insertCell().className = column;
    tr.cells[0].textContent = symbol;
    tr.setAttribute('aria-selected', String(symbol === this.#selected));
    tr.addEventListener('click', () => this.#onSelect(symbol));
    // Keep the rows in the summary's (alphabetical) order.
    const next = [...this.#rows.keys()].sort().find((other) => other > symbol);
    if (next) this.#body.insertBefore(tr, this.#rows.get(next));
    this.#rows.set(symbol, tr);
    return tr;
  }

  #learn(symbol, prices) {
    let decimals = this.#decimals.get(symbol) ?? 0;
    for (const value of prices) if (typeof value === 'number') decimals = Math.max(decimals, decimalsOf(value));
    this.#decimals.set(symbol, decimals);
  }

  /** Last, bid and ask: the view's quote when there is one, else the digest's. */
  #prices(tr, symbol, row) {
    const quote = this.#quotes.get(symbol) ?? row;
    const decimals = this.#decimals.get(symbol);
    set(tr.cells[1], price(quote.last, decimals));
    set(tr.cells[2], price(quote.bid, decimals));
    set(tr.cells[3], price(quote.ask, decimals));
  }

  #fill(tr, row, summary) {
    const cells = Object.fromEntries(COLUMNS.map((column, i) => [column, tr.cells[i]]));
    this.#learn(row.symbol, [row.last, row.bid, row.ask]);
    this.#prices(tr, row.symbol, row);
    const decimals = this.#decimals.get(row.symbol);
    set(cells.change, row.change === undefined ? '–' : `${row.change > 0 ? '+' : ''}${price(row.change, decimals)}`);
    cells.change.classList.toggle('up', row.change > 0);
    cells.change.classList.toggle('down', row.change < 0);
    const ageMs = summary.time - row.updatedAt;
    cells.updated.textContent = age(ageMs);
    cells.updated.title = new Date(row.updatedAt).toLocaleTimeString();
    cells.rate.textContent = row.updatesPerSecond === undefined ? '–' : row.updatesPerSecond.toFixed(1);
    const stale = ageMs > summary.staleAfterMs;
    tr.classList.toggle('stale', stale);
    tr.cells[0].title = stale ? `no update for ${age(ageMs)}` : '';
  }
}

function set(cell, text) {
  if (cell.textContent === text) return;
  const first = cell.textContent === '';
  cell.textContent = text;
  if (first) return;
  cell.classList.add('flash');
  setTimeout(() => cell.classList.remove('flash'), 120);
}
