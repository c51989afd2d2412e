import { age, bytes, count } from './format.js';

const COLUMNS = ['file', 'format', 'symbols', 'encoding', 'read', 'last-read', 'rate', 'breaker', 'problem'];

/**
 * One row per file being read, from `GET /v1/sources` (polled): how far it was read, when,
 * its records per second (between two polls), its circuit breaker and its last problem with
 * the byte offset it was found at. The filter keeps the rows whose text contains it.
 */
export class SourcesPanel {
  #body;
  #empty;
  #filter;
  #last = new Map();
  #files = [];
  #time = 0;

  constructor(table, empty, filter) {
    this.#body = table.tBodies[0];
    this.#empty = empty;
    this.#filter = filter;
    filter.addEventListener('input', () => this.#draw());
  }

  show({ time, files }) {
    const rates = new Map();
    for (const file of files) {
      const key = file.folder ? `${file.folder}/${file.file}` : file.file;
      const before = this.#last.get(key);
      if (before && time > before.time) rates.set(key, ((file.records - before.records) * 1000) / (time - before.time));
      this.#last.set(key, { time, records: file.records });
      file.key = key;
    }
    this.#files = files.map((file) => ({ ...file, rate: rates.get(file.key) }));
    this.#time = time;
    this.#draw();
  }

  #draw() {
    const wanted = this.#filter.value.trim().toLowerCase();
    const rows = this.#files
      .map((file) => ({ file, cells: this.#cells(file) }))
      .filter(({ cells }) => !wanted || cells.join(' ').toLowerCase().includes(wanted));
    this.#body.replaceChildren(
      ...rows.map(({ file, cells }) => {
        const tr = document.createElement('tr');
        tr.dataset.file = file.file;
        if (file.problems.count > 0 || file.failure) tr.classList.add('problem');
        if (file.breaker && file.breaker !== 'CLOSED') tr.classList.add('open');
        cells.forEach((text, i) => {
          const td = tr.insertCell();
          td.className = COLUMNS[i];
          td.textContent = text;
        });
        if (file.folder) tr.cells[0].title = `${file.folder}/${file.file}`;
        return tr;
      }),
    );
    this.#empty.hidden = rows.length > 0;
    this.#empty.textContent = this.#files.length === 0 ? 'No files being read.' : 'No file matches the filter.';
  }

  #cells(file) {
    const last = file.problems.last;
    const found = last ? `${last.reason} (at byte ${count(last.offset)}, ${age(this.#time - last.at)})` : '';
    // A read failing for another reason than the last problem (a locked file, a stalled share) says so first.
    const problem = file.failure && file.failure !== last?.reason ? `${file.failure}${found ? `; last problem: ${found}` : ''}` : found;
    return [
      file.file,
      file.format ?? 'no format',
      file.symbols.join(', ') || '–',
      file.encoding ?? '–',
      file.size === null ? bytes(file.bytesRead) : `${bytes(file.bytesRead)} / ${bytes(file.size)}`,
      file.lastReadAt === null ? 'never' : age(this.#time - file.lastReadAt),
      file.rate === undefined ? '–' : file.rate.toFixed(1),
      file.breaker ?? '–',
      file.problems.count > 1 ? `${problem} · ${count(file.problems.count)} problems` : problem,
    ];
  }
}
