import { CandleChart } from './chart.js';
import { count, price, priceDecimals } from './format.js';
import { Ladder } from './ladder.js';

const TIMEFRAMES = ['M1', 'M5', 'M15', 'M30', 'H1', 'H4', 'D1'];
const PREFERRED = 'M5';

/**
 * The selected symbol, followed live through the client SDK (WebSocket, or its fallbacks) as
 * a view (PROTOCOL.md §8) of its quote, its book and one timeframe's bars and indicators:
 * patches of the other windows never reach the page. The windows the document keeps are read
 * once per symbol from its snapshot, for the timeframe switch.
 */
export class Detail {
  #client;
  #root;
  #fetchJson;
  #onChange;
  #chart;
  #ladder;
  #symbol = null;
  #timeframe = null;
  #timeframes = [];
  #decimals = undefined;
  #stop = null;
  #frame = 0;
  #document = undefined;

  /**
   * @param {import('./client/index.js').TapeClient} client
   * @param {HTMLElement} root
   * @param {(path: string) => Promise<any>} fetchJson a bridge route's JSON, with the page's token
   * @param {(symbol: string, timeframe: string | null) => void} onChange the address follows
   */
  constructor(client, root, fetchJson, onChange) {
    this.#client = client;
    this.#root = root;
    this.#fetchJson = fetchJson;
    this.#onChange = onChange;
    this.#chart = new CandleChart(root.querySelector('#chart'));
    this.#ladder = new Ladder(document.querySelector('#book'), document.querySelector('#no-book'));
    client.on('state', () => this.#showState());
    globalThis.tapebridge = { ...globalThis.tapebridge, chart: this };
  }

  get symbol() {
    return this.#symbol;
  }

  get timeframe() {
    return this.#timeframe;
  }

  /** The candles drawn, and how often setData and update ran (the browser tests read them). */
  data() {
    return this.#chart.data();
  }

  get stats() {
    return this.#chart.stats;
  }

  async show(symbol, timeframe = null) {
    if (symbol === this.#symbol) {
      if (timeframe && timeframe !== this.#timeframe) this.#follow(timeframe);
      return;
    }
    this.#stop?.();
    this.#stop = null;
    this.#symbol = symbol;
    this.#timeframe = null;
    this.#decimals = undefined;
    this.#root.querySelector('#detail-symbol').textContent = symbol;
    this.#render(undefined);
    this.#showState();
    let snapshot = null;
    try {
      snapshot = await this.#fetchJson(`v1/symbols/${encodeURIComponent(symbol)}`);
    } catch {
      // Not there (yet), or not for this token: the default window is tried.
    }
    if (symbol !== this.#symbol) return;
    const held = Object.keys(snapshot?.data?.bars ?? {});
    this.#timeframes = TIMEFRAMES.filter((tf) => held.includes(tf));
    this.#decimals = snapshot ? decimalsOf(snapshot.data) : undefined;
    this.#buttons();
    const wanted =
      timeframe && this.#timeframes.includes(timeframe) ? timeframe : this.#timeframes.includes(PREFERRED) ? PREFERRED : (this.#timeframes[0] ?? 'M1');
    this.#follow(wanted);
  }

  /** Moves the view to `timeframe`: one subscription of that window's parts. */
  #follow(timeframe) {
    this.#stop?.();
    this.#timeframe = timeframe;
    this.#chart.reset(timeframe);
    this.#document = undefined;
    for (const button of this.#root.querySelectorAll('#timeframes button')) button.setAttribute('aria-pressed', String(button.value === timeframe));
    this.#onChange(this.#symbol, timeframe);
    const parts = ['/quote', '/book', `/bars/${timeframe}`, `/indicators/${timeframe}`];
    const symbol = this.#symbol;
    this.#stop = this.#client.subscribe(
      symbol,
      (document, update) => {
        if (symbol !== this.#symbol || timeframe !== this.#timeframe) return;
        this.#decimals ??= decimalsOf(document);
        this.#chart.show(document, update.type === 'snapshot', this.#decimals);
        this.#render(document);
      },
      { parts },
    );
  }

  #buttons() {
    const bar = this.#root.querySelector('#timeframes');
    bar.replaceChildren(
      ...this.#timeframes.map((tf) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.value = tf;
        button.textContent = tf;
        button.addEventListener('click', () => this.#follow(tf));
        return button;
      }),
    );
  }

  #showState() {
    const badge = this.#root.querySelector('#detail-state');
    const { state, transport } = this.#client;
    badge.dataset.state = state;
    badge.textContent = state === 'open' ? `live over ${transport === 'ws' ? 'WebSocket' : transport === 'sse' ? 'SSE' : 'long polling'}` : state;
  }

  /** The quote, the legend and the ladder, once per frame. */
  #render(document) {
    this.#document = document;
    this.#frame ||= requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw(this.#document);
    });
  }

  #draw(document) {
    const decimals = this.#decimals;
    const quote = document?.quote ?? {};
    const version = this.#symbol ? this.#client.version(this.#symbol) : undefined;
    const fields = [
      ['bid', price(quote.bid, decimals)],
      ['ask', price(quote.ask, decimals)],
      ['last', price(quote.last, decimals)],
      ['size', quote.lastSize === undefined ? undefined : count(quote.lastSize)],
      ['time', quote.time === undefined ? undefined : new Date(quote.time).toLocaleTimeString()],
      ['seq', version?.seq],
      ['epoch', version?.epoch],
      ['sources', document?.sources?.join(', ')],
    ];
    this.#root
      .querySelector('#quote')
      .replaceChildren(...fields.flatMap(([name, value]) => [element('dt', name), element('dd', value === undefined || value === '–' ? '–' : String(value))]));
    const values = document?.indicators?.[this.#timeframe] ?? {};
    this.#root.querySelector('#legend').textContent = Object.entries(values)
      .map(([key, value]) => `${key} ${typeof value === 'number' ? value : Object.values(value).join(' / ')}`)
      .join(' · ');
    const bars = document?.bars?.[this.#timeframe] ?? [];
    this.#root.querySelector('#chart-note').textContent =
      document === undefined ? '' : bars.length === 0 ? `no ${this.#timeframe} bars yet` : `${bars.length} ${this.#timeframe} bars (UTC)`;
    this.#ladder.show(document?.book, decimals);
  }
}

/** The symbol's price decimals, inferred from its quote, bars and book (the document holds no tick size). */
function decimalsOf(document) {
  const prices = [document?.quote?.bid, document?.quote?.ask, document?.quote?.last];
  for (const bars of Object.values(document?.bars ?? {})) for (const bar of bars.slice(-50)) prices.push(bar.o, bar.h, bar.l, bar.c);
  for (const level of [...(document?.book?.bids ?? []), ...(document?.book?.asks ?? [])]) prices.push(level[0]);
  return priceDecimals(prices);
}

function element(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}
