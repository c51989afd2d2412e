import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The bridge as users run it: `node dist/cli.js --config FILE`, in its own process. */
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  time: number;
  [key: string]: unknown;
}

/** What a bridge process said that was not expected: error lines, stderr, a crash. */
export interface ProcessTrouble {
  errorLines: LogLine[];
  stderr: string[];
  /** Exits nobody asked for. */
  crashes: string[];
}

/**
 * One bridge process after another on the same port and config: started, stopped with a
 * signal (SIGTERM: a clean shutdown; SIGKILL: a crash), started again. Every log line is
 * parsed; those at error level and anything on stderr are kept as trouble.
 */
export class BridgeProcess {
  readonly trouble: ProcessTrouble = { errorLines: [], stderr: [], crashes: [] };
  /** Warnings by message (the bad input the soak writes on purpose). */
  readonly warnings = new Map<string, number>();
  #child: ChildProcess | null = null;
  #stopping = false;
  #listeners = new Set<(line: LogLine) => void>();

  constructor(
    readonly configPath: string,
    readonly port: number,
    /** Environment variables beside the test's own (NODE_EXTRA_CA_CERTS for a private CA, say). */
    readonly env: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the bridge; resolves with the time (performance.now()) it listened, once its first read is done. */
  async start(): Promise<{ listenedAt: number }> {
    this.#stopping = false;
    const child = spawn(process.execPath, [CLI, '--config', this.configPath, '--config-dir', '/nonexistent'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'soak', ...this.env },
    });
    this.#child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => this.#line(text));
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) => {
      if (text.trim() !== '') this.trouble.stderr.push(text);
    });
    child.once('exit', (code, signal) => {
      if (!this.#stopping) this.trouble.crashes.push(`bridge exited on its own (code ${code}, signal ${signal})`);
    });
    let listenedAt = 0;
    await new Promise<void>((resolve, reject) => {
      const onLine = (line: LogLine): void => {
        if (line.msg === 'listening') listenedAt = performance.now();
        if (line.msg === 'initial read done') {
          this.#listeners.delete(onLine);
          resolve();
        }
      };
      this.#listeners.add(onLine);
      child.once('exit', () => reject(new Error(`bridge exited during start: ${this.trouble.stderr.slice(-5).join('\n')}`)));
    });
    return { listenedAt };
  }

  /** Stops it with `signal` and waits for the exit; returns the exit code. */
  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null> {
    const child = this.#child;
    if (child?.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    this.#stopping = true;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    const code = await exited;
    this.#child = null;
    return code;
  }

  /** Resident memory of the running process (Linux /proc), in bytes; null when unknown. */
  async rss(): Promise<number | null> {
    const pid = this.pid;
    if (pid === undefined) return null;
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return kb === undefined ? null : Number(kb) * 1024;
    } catch {
      return null;
    }
  }

  #line(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      this.trouble.stderr.push(`(stdout, not a log line) ${text}`);
      return;
    }
    if (line.level >= 50) this.trouble.errorLines.push(line);
    else if (line.level === 40) this.warnings.set(line.msg, (this.warnings.get(line.msg) ?? 0) + 1);
    for (const listener of this.#listeners) listener(line);
  }
}
