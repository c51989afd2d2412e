import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/**
 * Debian's redis-server as a child process on a free port of 127.0.0.1, with its own
 * temporary folder: started by the tests, stopped (and its folder removed) after. With
 * `persistent`, it keeps an append-only file there, so a restart comes back with its data;
 * without, a restart comes back empty.
 */
export class RedisServer {
  #child: ChildProcess | null = null;
  #output: string[] = [];

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly persistent: boolean,
    /** With TLS: its port, and the self-signed certificate (PEM) a client must trust. */
    readonly tls: { port: number; certFile: string } | null,
  ) {}

  /**
   * `tls`: also listen with TLS on a second port, with a self-signed certificate for 127.0.0.1
   * (made by openssl), and accept only the user `tapebridge` with the password `secret`.
   */
  static async start({ persistent = false, tls = false }: { persistent?: boolean; tls?: boolean } = {}): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'tapebridge-redis-'));
    let secured: { port: number; certFile: string } | null = null;
    if (tls) {
      const certFile = join(dir, 'cert.pem');
      // prettier-ignore
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      secured = { port: await freePort(), certFile };
    }
    const server = new RedisServer(await freePort(), dir, persistent, secured);
    await server.restart();
    return server;
  }

  /** Its process id while it runs (for what the kernel says of it: CPU time). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The TLS address with the credentials in it (a server started with `tls`). */
  get tlsUrl(): string {
    if (!this.tls) throw new Error('this redis-server was started without TLS');
    return `rediss://tapebridge:secret@127.0.0.1:${this.tls.port}`;
  }

  /** Starts it again on the same port and folder (after stop()). */
  async restart(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      this.persistent ? 'yes' : 'no',
      '--protected-mode',
      'no',
    ];
    if (this.tls) {
      args.push(
        '--tls-port',
        String(this.tls.port),
        '--tls-cert-file',
        this.tls.certFile,
        '--tls-key-file',
        join(this.dir, 'key.pem'),
        '--tls-auth-clients',
        'no',
      );
      // Each word of a directive is its own argument (redis-server joins them up to the next --).
      args.push('--user', 'default', 'off', '--user', 'tapebridge', 'on', '>secret', '~*', '&*', '+@all');
    }
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#output = [];
    child.stdout.on('data', (chunk: Buffer) => this.#output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => this.#output.push(chunk.toString()));
    await waitFor(`redis-server on port ${this.port} (${this.#output.join('').slice(-300)})`, () => this.#answers(), 10_000);
  }

  /** Stops it (SIGKILL: a crash, SIGTERM: a clean stop) and waits for the exit. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child?.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** Deletes what it saved (while stopped): the next restart comes back empty. */
  async wipe(): Promise<void> {
    await rm(join(this.dir, 'appendonlydir'), { recursive: true, force: true });
    await rm(join(this.dir, 'dump.rdb'), { force: true });
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Whether it answers PING with PONG. */
  #answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        // A server that wants a password is up too.
        resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
        socket.destroy();
      });
    });
  }
}

/**
 * A redis-server for one test file, and a connection to it: started before its tests, stopped
 * after. `url` and `redis` are read inside the tests, once the server runs.
 */
export function redisForTests(): { readonly url: string; readonly redis: Redis } {
  let server: RedisServer | null = null;
  let connection: Redis | null = null;
  beforeAll(async () => {
    server = await RedisServer.start();
    connection = new Redis(server.url);
    await connection.ping();
  });
  afterAll(async () => {
    await connection?.quit();
    await server?.close();
  });
  const running = <T>(value: T | null): T => {
    if (value === null) throw new Error('redisForTests: read inside a test, once the server runs');
    return value;
  };
  return {
    get url() {
      return running(server).url;
    },
    get redis() {
      return running(connection);
    },
  };
}
