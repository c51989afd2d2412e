import { count, price } from './format.js';

const LEVELS = 10;

/**
 * The book as a depth ladder: asks above (best ask lowest), bids below (best bid highest), the
 * spread between them, so the best prices sit in the middle; each level's size as a bar
 * against the largest size shown. Drawn once per animation frame: a batch of patches that
 * moves many levels draws once, at its end.
 */
export class Ladder {
  #body;
  #empty;
  #table;
  #pending = null;
  #frame = 0;

  constructor(table, empty) {
    this.#table = table;
    this.#body = table.tBodies[0];
    this.#empty = empty;
  }

  show(book, decimals) {
    this.#pending = { book, decimals };
    this.#frame ||= requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw(this.#pending.book, this.#pending.decimals);
    });
  }

  #draw(book, decimals) {
    const bids = (book?.bids ?? []).slice(0, LEVELS);
    const asks = (book?.asks ?? []).slice(0, LEVELS);
    const largest = Math.max(1, ...bids.map((level) => level[1]), ...asks.map((level) => level[1]));
    const rows = [];
    for (const level of [...asks].reverse()) rows.push(this.#row('ask', level, largest, decimals));
    if (bids.length > 0 && asks.length > 0) {
      const tr = document.createElement('tr');
      tr.className = 'spread';
      const td = document.createElement('td');
      td.colSpan = 3;
      td.textContent = `spread ${price(asks[0][0] - bids[0][0], decimals)}`;
      tr.append(td);
      rows.push(tr);
    }
    for (const level of bids) rows.push(this.#row('bid', level, largest, decimals));
    this.#body.replaceChildren(...rows);
    const depth = bids.length + asks.length;
    this.#table.hidden = depth === 0;
    this.#empty.hidden = depth > 0;
  }

  #row(side, [levelPrice, size, orders], largest, decimals) {
    const tr = document.createElement('tr');
    tr.className = side;
    tr.dataset.price = String(levelPrice);
    const bid = document.createElement('td');
    const at = document.createElement('td');
    const ask = document.createElement('td');
    at.className = 'price';
    at.textContent = price(levelPrice, decimals);
    const cell = side === 'bid' ? bid : ask;
    cell.className = 'size';
    const bar = document.createElement('span');
    bar.className = 'bar';
    // A width through the CSSOM: the page's policy allows no inline style attributes.
    bar.style.width = `${Math.round((size / largest) * 100)}%`;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = orders === undefined ? count(size) : `${count(size)} (${orders})`;
    cell.append(bar, label);
    tr.append(bid, at, ask);
    return tr;
  }
}
