import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface CliOptions {
  /** The config file's content. */
  config?: Record<string, unknown>;
  /** More CLI arguments (after --config). */
  args?: string[];
  /** Node options before the script (`--import FILE`). */
  nodeArgs?: string[];
  /** A command the process is started under (`['prlimit', '--nofile=256:256']`). */
  wrapper?: string[];
}

/** `node dist/cli.js` as users run it, its log lines parsed, its exit recorded. */
export class CliProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      try {
        this.lines.push(JSON.parse(text) as LogLine);
      } catch {
        this.stderr.push(`(stdout) ${text}`);
      }
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) => this.stderr.push(text));
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  /** Starts it (on a free port unless args say otherwise); does not wait for it to listen. */
  static async spawn(options: CliOptions = {}): Promise<CliProcess> {
    const dir = await tempDir();
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify(options.config ?? {}));
    const command = [
      ...(options.wrapper ?? []),
      process.execPath,
      ...(options.nodeArgs ?? []),
      CLI,
      '--config',
      configPath,
      '--config-dir',
      '/nonexistent',
      '--port',
      '0',
      ...(options.args ?? []),
    ];
    const [program, ...rest] = command as [string, ...string[]];
    return new CliProcess(spawn(program, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'security' } }));
  }

  /** Starts it and waits for its first read; rejects if it exits first. */
  static async start(options: CliOptions = {}): Promise<CliProcess> {
    const bridge = await CliProcess.spawn(options);
    await waitFor(
      'the bridge started',
      () => {
        if (bridge.exit) throw new Error(`bridge exited during start (${JSON.stringify(bridge.exit)}): ${bridge.stderr.join('\n')}`);
        return bridge.line('initial read done');
      },
      20_000,
    );
    return bridge;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** `http://127.0.0.1:port` from the `listening` line. */
  get url(): string {
    const url = this.line('listening')?.url;
    if (typeof url !== 'string') throw new Error('the bridge has not said where it listens');
    return url;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  line(msg: string): LogLine | undefined {
    return this.lines.find((line) => line.msg === msg);
  }

  event(event: string): LogLine[] {
    return this.lines.filter((line) => line.event === event);
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async exited(): Promise<void> {
    await this.#exited;
  }

  async stop(): Promise<void> {
    if (!this.exit) this.#child.kill('SIGTERM');
    await this.#exited;
  }
}

/** One raw HTTP exchange (any Host, any bytes): what came back until the server closed, or `timeoutMs`. */
export function rawExchange(port: number, request: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (): void => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    socket.setTimeout(timeoutMs, done);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (error) => (chunks.length > 0 ? done() : reject(error)));
  });
}

export function getRequest(path: string, headers: Record<string, string> = {}): string {
  const lines = Object.entries({ host: '127.0.0.1', connection: 'close', ...headers }).map(([name, value]) => `${name}: ${value}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

export function upgradeRequest(path: string, headers: Record<string, string> = {}): string {
  return getRequest(path, {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  });
}

/** Status line and JSON body of a raw answer. */
export function parseAnswer(text: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  try {
    return { status, body: JSON.parse(body) };
  } catch {
    return { status, body };
  }
}
