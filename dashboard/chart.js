import { CandlestickSeries, ColorType, createChart, HistogramSeries, LineSeries } from 'lightweight-charts';
import { bollingerSeries } from './derive/indicators/bollinger.js';
import { emaSeries } from './derive/indicators/ema.js';
import { macdSeries } from './derive/indicators/macd.js';
import { rsiSeries } from './derive/indicators/rsi.js';

const UP = '#1f8a4c';
const DOWN = '#c53030';
/** Shown on every timeframe, whether or not the config publishes them; the document's own keys come on top. */
const DEFAULT_OVERLAYS = ['ema20', 'bb20'];
const DEFAULT_RSI = 'rsi14';
const OVERLAY = /^(?:ema|bb)[1-9]\d*$/;
const LINE_COLOURS = ['#2b6cb0', '#805ad5', '#dd6b20', '#319795'];

const seconds = (ms) => Math.floor(ms / 1000);

/**
 * The selected symbol's candles of one timeframe, with volume, EMA and Bollinger overlays and
 * RSI and MACD panes, drawn by TradingView's lightweight-charts.
 *
 * The overlays' history is computed in the page by the bridge's own indicator functions
 * (dist/derive/indicators) over the bars the document holds; the latest value of each is the
 * document's `indicators` when it publishes that key. A new version of the window moves the
 * forming bar and adds new ones through series.update(); setData() redraws only on a snapshot,
 * a timeframe switch, or when history before the drawn bars arrives.
 */
export class CandleChart {
  #chart;
  #candles;
  #volume;
  #overlays = new Map();
  #rsi;
  #macd;
  #lastTime = null;
  #firstTime = null;
  #rsiKey = DEFAULT_RSI;
  #timeframe = null;
  /** Counters the browser tests read (window.tapebridge.chart). */
  stats = { setData: 0, updates: 0 };

  constructor(container) {
    this.#chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: '#fff' },
        textColor: '#1d2430',
        fontSize: 11,
        attributionLogo: false,
        panes: { separatorColor: '#e3e6eb' },
      },
      grid: { vertLines: { color: '#f0f2f5' }, horzLines: { color: '#f0f2f5' } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#e3e6eb' },
      rightPriceScale: { borderColor: '#e3e6eb' },
    });
    this.#candles = this.#chart.addSeries(CandlestickSeries, { upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN });
    this.#volume = this.#chart.addSeries(HistogramSeries, {
      priceFormat: { type: 'volume' },
      priceScaleId: 'volume',
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.#volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.#rsi = this.#chart.addSeries(LineSeries, { color: '#805ad5', lineWidth: 1, priceLineVisible: false, title: 'RSI 14' }, 1);
    for (const level of [30, 70]) this.#rsi.createPriceLine({ price: level, color: '#cbd2d9', lineWidth: 1, lineStyle: 2, axisLabelVisible: false });
    this.#macd = {
      hist: this.#chart.addSeries(HistogramSeries, { priceLineVisible: false, lastValueVisible: false }, 2),
      macd: this.#chart.addSeries(LineSeries, { color: '#2b6cb0', lineWidth: 1, priceLineVisible: false, title: 'MACD' }, 2),
      signal: this.#chart.addSeries(LineSeries, { color: '#dd6b20', lineWidth: 1, priceLineVisible: false, title: 'signal' }, 2),
    };
    // The candles get most of the height; RSI and MACD a fifth each.
    const [main, rsiPane, macdPane] = this.#chart.panes();
    main?.setStretchFactor(3);
    rsiPane?.setStretchFactor(1);
    macdPane?.setStretchFactor(1);
  }

  /** The candles as drawn (for the browser tests). */
  data() {
    return this.#candles.data();
  }

  /** Forgets what is drawn: the next show() draws `timeframe` afresh. */
  reset(timeframe) {
    this.#lastTime = null;
    this.#firstTime = null;
    this.#timeframe = timeframe;
  }

  /**
   * Draws a new version of the document's window. `whole`: it arrived as a snapshot (drawn
   * again with setData); otherwise only the bars from the last drawn one on are updated.
   */
  show(document, whole, decimals) {
    const bars = document?.bars?.[this.#timeframe] ?? [];
    const values = document?.indicators?.[this.#timeframe] ?? {};
    if (bars.length === 0) {
      if (this.#lastTime !== null || whole) this.#clear();
      return;
    }
    const first = seconds(bars[0].t);
    const last = seconds(bars[bars.length - 1].t);
    const redraw = whole || this.#lastTime === null || last < this.#lastTime || first < this.#firstTime;
    if (redraw) this.#format(decimals, values);
    const series = this.#series(bars, values);
    if (redraw) {
      for (const [target, points] of series) target.setData(points);
      this.stats.setData++;
      this.#firstTime = first;
      this.#chart.timeScale().fitContent();
    } else {
      for (const [target, points] of series) {
        for (const point of points) if (point.time >= this.#lastTime) target.update(point);
      }
      this.stats.updates++;
    }
    this.#lastTime = last;
  }

  #clear() {
    for (const series of this.#allSeries()) series.setData([]);
    this.#lastTime = null;
    this.#firstTime = null;
  }

  *#allSeries() {
    yield this.#candles;
    yield this.#volume;
    yield this.#rsi;
    yield* Object.values(this.#macd);
    for (const lines of this.#overlays.values()) yield* lines;
  }

  /** Prices to the symbol's decimals; the overlays the document and the defaults name. */
  #format(decimals, values) {
    const priceFormat = { type: 'price', precision: decimals, minMove: 10 ** -decimals };
    this.#candles.applyOptions({ priceFormat });
    const keys = [...new Set([...DEFAULT_OVERLAYS, ...Object.keys(values).filter((key) => OVERLAY.test(key))])].sort();
    for (const [key, lines] of this.#overlays) {
      if (keys.includes(key)) continue;
      for (const line of lines) this.#chart.removeSeries(line);
      this.#overlays.delete(key);
    }
    keys.forEach((key, i) => {
      if (this.#overlays.has(key)) return;
      const color = LINE_COLOURS[i % LINE_COLOURS.length];
      const options = { color, lineWidth: 1, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false, priceFormat };
      const period = key.replace(/^\D+/, '');
      const lines = key.startsWith('bb')
        ? ['upper', 'middle', 'lower'].map((band) =>
            this.#chart.addSeries(LineSeries, { ...options, lineStyle: band === 'middle' ? 2 : 0, title: band === 'upper' ? `BB ${period}` : '' }),
          )
        : [this.#chart.addSeries(LineSeries, { ...options, lineWidth: 2, title: `EMA ${period}` })];
      this.#overlays.set(key, lines);
    });
    this.#rsiKey = Object.keys(values).find((key) => /^rsi\d+$/.test(key)) ?? DEFAULT_RSI;
    this.#rsi.applyOptions({ title: `RSI ${this.#rsiKey.slice(3)}` });
  }

  /** Each series with its points for `bars`; an indicator's last point is the document's value when it has one. */
  #series(bars, values) {
    const times = bars.map((bar) => seconds(bar.t));
    const candles = bars.map((bar, i) => ({ time: times[i], open: bar.o, high: bar.h, low: bar.l, close: bar.c }));
    const volume = bars.map((bar, i) => ({ time: times[i], value: bar.v, color: bar.c >= bar.o ? '#1f8a4c55' : '#c5303055' }));
    const out = [
      [this.#candles, candles],
      [this.#volume, volume],
    ];
    const points = (series, key, pick = (value) => value) => {
      const latest = values[key];
      if (latest !== undefined) series[series.length - 1] = latest;
      return series.flatMap((value, i) => (value === undefined ? [] : [{ time: times[i], value: pick(value) }]));
    };
    for (const [key, lines] of this.#overlays) {
      const period = Number(key.replace(/^\D+/, ''));
      if (key.startsWith('bb')) {
        const bands = bollingerSeries(bars, period);
        ['upper', 'middle', 'lower'].forEach((band, i) => out.push([lines[i], points([...bands], key, (value) => value[band])]));
      } else {
        out.push([lines[0], points(emaSeries(bars, period), key)]);
      }
    }
    out.push([this.#rsi, points(rsiSeries(bars, Number(this.#rsiKey.slice(3))), this.#rsiKey)]);
    const macd = macdSeries(bars);
    out.push([this.#macd.macd, points([...macd], 'macd', (value) => value.macd)]);
    out.push([this.#macd.signal, points([...macd], 'macd', (value) => value.signal)]);
    const hist = points([...macd], 'macd', (value) => value.hist);
    out.push([this.#macd.hist, hist.map((point) => ({ ...point, color: point.value >= 0 ? '#1f8a4c88' : '#c5303088' }))]);
    return out;
  }
}
