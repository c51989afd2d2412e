const SPARK_BARS = 60;
const BOOK_LEVELS = 10;
/** What the pane shows: the view it subscribes to (PROTOCOL.md §8), so that patches of other windows and indicators never reach it. */
const DETAIL_PARTS = ['/quote', '/bars/M1', '/book'];

/**
 * The selected symbol, followed live through the client SDK (WebSocket, or its fallbacks) as
 * a view of its quote, M1 bars and book: a sparkline of recent M1 closes, the quote, and the
 * book if it has one.
 */
export class Detail {
  #client;
  #root;
  #symbol = null;
  #stop = null;

  /**
   * @param {import('./client/index.js').TapeClient} client
   * @param {HTMLElement} root
   */
  constructor(client, root) {
    this.#client = client;
    this.#root = root;
    client.on('state', () => this.#showState());
  }

  get symbol() {
    return this.#symbol;
  }

  show(symbol) {
    if (symbol === this.#symbol) return;
    this.#stop?.();
    this.#symbol = symbol;
    this.#root.querySelector('#detail-symbol').textContent = symbol;
    this.#render(undefined);
    this.#stop = this.#client.subscribe(symbol, (document) => this.#render(document), { parts: DETAIL_PARTS });
    this.#showState();
  }

  #showState() {
    const badge = this.#root.querySelector('#detail-state');
    const { state, transport } = this.#client;
    badge.dataset.state = state;
    badge.textContent = state === 'open' ? `live over ${transport === 'ws' ? 'WebSocket' : transport === 'sse' ? 'SSE' : 'long polling'}` : state;
  }

  #render(document) {
    const closes = (document?.bars?.M1 ?? []).slice(-SPARK_BARS).map((bar) => bar.c);
    this.#sparkline(closes);
    const quote = document?.quote ?? {};
    const version = this.#symbol ? this.#client.version(this.#symbol) : undefined;
    const fields = [
      ['bid', quote.bid],
      ['ask', quote.ask],
      ['last', quote.last],
      ['size', quote.lastSize],
      ['time', quote.time === undefined ? undefined : new Date(quote.time).toLocaleTimeString()],
      ['seq', version?.seq],
      ['epoch', version?.epoch],
      ['sources', document?.sources?.join(', ')],
    ];
    const list = this.#root.querySelector('#quote');
    list.replaceChildren(...fields.flatMap(([name, value]) => [element('dt', name), element('dd', value === undefined ? '–' : String(value))]));
    this.#book(document?.book);
  }

  #sparkline(closes) {
    const line = this.#root.querySelector('#sparkline polyline');
    const range = this.#root.querySelector('#sparkline-range');
    if (closes.length < 2) {
      line.setAttribute('points', '');
      range.textContent = closes.length === 0 ? 'no M1 bars yet' : 'one M1 bar so far';
      return;
    }
    const low = Math.min(...closes);
    const high = Math.max(...closes);
    const span = high - low || 1;
    const points = closes.map((close, i) => `${((i / (closes.length - 1)) * 300).toFixed(1)},${(76 - ((close - low) / span) * 72).toFixed(1)}`);
    line.setAttribute('points', points.join(' '));
    range.textContent = `last ${closes.length} M1 closes: ${low} – ${high}`;
  }

  #book(book) {
    const body = this.#root.querySelector('#book tbody');
    const bids = book?.bids ?? [];
    const asks = book?.asks ?? [];
    const depth = Math.min(BOOK_LEVELS, Math.max(bids.length, asks.length));
    const rows = [];
    for (let i = 0; i < depth; i++) {
      const tr = document.createElement('tr');
      for (const value of [bids[i]?.[1], bids[i]?.[0], asks[i]?.[0], asks[i]?.[1]]) tr.append(element('td', value === undefined ? '' : String(value)));
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    this.#root.querySelector('#book').hidden = depth === 0;
    this.#root.querySelector('#no-book').hidden = depth > 0;
  }
}

function element(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}
