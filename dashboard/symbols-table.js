const COLUMNS = ['symbol', 'last', 'bid', 'ask', 'change', 'updated', 'rate'];

/** The table of symbols, updated in place from each summary; a row that changed flashes. */
export class SymbolsTable {
  #table;
  #body;
  #empty;
  #onSelect;
  #rows = new Map();
  #selected = null;

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
    this.#empty.hidden = summary.symbols.length > 0;
  }

  select(symbol) {
    this.#selected = symbol;
    for (const [name, tr] of this.#rows) tr.setAttribute('aria-selected', String(name === symbol));
  }

  /** Greys everything out while the digest is not live. */
  setLive(live) {
    this.#table.classList.toggle('disconnected', !live);
  }

  #add(symbol) {
    const tr = this.#body.insertRow();
    tr.dataset.symbol = symbol;
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

  #fill(tr, row, summary) {
    const cells = Object.fromEntries(COLUMNS.map((column, i) => [column, tr.cells[i]]));
    set(cells.last, price(row.last));
    set(cells.bid, price(row.bid));
    set(cells.ask, price(row.ask));
    set(cells.change, row.change === undefined ? '–' : `${row.change > 0 ? '+' : ''}${row.change}`);
    cells.change.classList.toggle('up', row.change > 0);
    cells.change.classList.toggle('down', row.change < 0);
    const ageMs = summary.time - row.updatedAt;
    cells.updated.textContent = `${new Date(row.updatedAt).toLocaleTimeString()} (${age(ageMs)})`;
    cells.rate.textContent = row.updatesPerSecond === undefined ? '–' : row.updatesPerSecond.toFixed(1);
    const stale = ageMs > summary.staleAfterMs;
    tr.classList.toggle('stale', stale);
    tr.title = stale ? `no update for ${age(ageMs)}` : '';
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

function price(value) {
  return value === undefined ? '–' : String(value);
}

function age(ms) {
  if (ms < 1000) return 'now';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}
