import { ColorType, createChart, LineSeries } from 'lightweight-charts';
import { age, bytes, count, millis } from './format.js';

const LATENCY_WINDOW_MS = 60_000;

/**
 * The health report in human units (MB, ms, "3 s ago") with status colours, and the
 * write→client latency (p50 and p99 of /v1/stats `latency.writeToSendMs`, polled) over the
 * last minute as a small chart.
 */
export class HealthPanel {
  #list;
  #latency;
  #note;
  #chart = null;
  #p50;
  #p99;
  #samples = [];

  constructor(list, latency, note) {
    this.#list = list;
    this.#latency = latency;
    this.#note = note;
  }

  /** The health report: components for an admin token; status and counts for the others. */
  show(health, time) {
    if (!health.components) {
      const item = document.createElement('li');
      item.className = 'muted';
      item.textContent = Object.entries(health.counts ?? {})
        .map(([status, n]) => `${status} ${n}`)
        .join(' · ');
      this.#list.replaceChildren(item);
      return;
    }
    this.#list.replaceChildren(
      ...Object.entries(health.components).map(([name, component]) => {
        const item = document.createElement('li');
        item.dataset.component = name;
        item.dataset.status = component.status;
        const label = document.createElement('strong');
        label.textContent = name;
        const status = document.createElement('span');
        status.className = 'badge';
        status.dataset.status = component.status;
        status.textContent = component.status;
        const details = document.createElement('span');
        details.className = 'muted details';
        details.textContent = describe(component, time);
        item.append(label, status, details);
        return item;
      }),
    );
  }

  /** A /v1/stats report: its latency percentiles join the chart; null when the token may not read stats. */
  stats(report) {
    if (report === null) {
      this.#latency.hidden = true;
      this.#note.textContent = 'Latency needs an admin token (/v1/stats).';
      return;
    }
    const latency = report.latency?.writeToSendMs;
    if (!latency) {
      this.#note.textContent = 'write→client latency: no delivery measured yet';
      return;
    }
    this.#latency.hidden = false;
    this.#chart ??= this.#createChart();
    const time = Math.floor(report.time / 1000);
    const last = this.#samples[this.#samples.length - 1];
    if (last && last.time >= time) return;
    this.#samples.push({ time, p50: latency.p50, p99: latency.p99 });
    const redraw = this.#samples[0].time < time - LATENCY_WINDOW_MS / 1000;
    while (this.#samples[0].time < time - LATENCY_WINDOW_MS / 1000) this.#samples.shift();
    if (redraw) {
      this.#p50.setData(this.#samples.map(({ time, p50 }) => ({ time, value: p50 })));
      this.#p99.setData(this.#samples.map(({ time, p99 }) => ({ time, value: p99 })));
    } else {
      this.#p50.update({ time, value: latency.p50 });
      this.#p99.update({ time, value: latency.p99 });
    }
    this.#chart.timeScale().fitContent();
    this.#note.textContent = `write→client latency, last minute: p50 ${millis(latency.p50)} · p99 ${millis(latency.p99)} (of the last ${count(latency.count)} deliveries)`;
  }

  #createChart() {
    const chart = createChart(this.#latency, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: '#fff' }, textColor: '#6b7380', fontSize: 10, attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { color: '#f0f2f5' } },
      timeScale: { timeVisible: true, secondsVisible: true, borderVisible: false },
      rightPriceScale: { borderVisible: false },
      handleScroll: false,
      handleScale: false,
    });
    const format = { type: 'custom', formatter: (value) => millis(value), minMove: 0.001 };
    this.#p50 = chart.addSeries(LineSeries, { color: '#2b6cb0', lineWidth: 2, title: 'p50', priceFormat: format, priceLineVisible: false });
    this.#p99 = chart.addSeries(LineSeries, { color: '#dd6b20', lineWidth: 2, title: 'p99', priceFormat: format, priceLineVisible: false });
    return chart;
  }
}

/** A component's figures in one line, in human units: bytes by their size, ms as durations, epoch times as ages. */
function describe(component, time) {
  return Object.entries(component)
    .filter(([key, value]) => key !== 'status' && key !== 'path' && value !== null)
    .map(([key, value]) => `${label(key)} ${figure(key, value, time)}`)
    .join(' · ');
}

function label(key) {
  return key
    .replace(/(Bytes|Ms|At)$/, '')
    .replace(/([a-z])([A-Z0-9])/g, '$1 $2')
    .toLowerCase();
}

function figure(key, value, time) {
  if (Array.isArray(value)) return count(value.length);
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== null && typeof v !== 'object')
      .map(([k, v]) => `${label(k)} ${figure(k, v, time)}`)
      .join(', ');
  }
  if (typeof value !== 'number') return String(value);
  if (/bytes/i.test(key)) return bytes(value);
  if (/Ms$/.test(key)) return millis(value);
  if (/At$/.test(key)) return age(time - value);
  return count(value);
}
