import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, type Config } from '../../src/app/config.js';
import { changedKeys, LiveConfig, redact, REDACTED } from '../../src/app/live-config.js';
import { Tally } from '../../src/core/tally.js';
import { LogCapture } from '../helpers/bridge.js';

/** A component that records what it was moved to, and can be told to fail. */
class Recorder {
  readonly seen: number[] = [];
  failOn: number | null = null;

  constructor(readonly name: string) {}

  apply(next: Config): void {
    if (next.journal.size === this.failOn) throw new Error(`${this.name} cannot take ${next.journal.size}`);
    this.seen.push(next.journal.size);
  }
}

function live(initial = resolveConfig({ journal: { size: 10 } })) {
  const counters = { applied: new Tally(), refused: new Tally() };
  const logs = new LogCapture('info');
  const config = new LiveConfig(initial, { logger: logs.logger, counters });
  const first = new Recorder('first');
  const second = new Recorder('second');
  config.register(first);
  config.register(second);
  return { config, first, second, counters, logs };
}

describe('LiveConfig', () => {
  it('applies a PATCH to every component in order and keeps the previous version for rollback', async () => {
    const { config, first, second, counters } = live();
    const change = await config.patch({ journal: { size: 20 }, watch: { debounceMs: 9 } });
    expect(change.changed).toEqual(['watch.debounceMs', 'journal.size']);
    expect(config.current.journal.size).toBe(20);
    expect([first.seen, second.seen]).toEqual([[20], [20]]);
    expect(counters.applied.value).toBe(1);

    const back = await config.rollback();
    expect(back.config.journal.size).toBe(10);
    expect(config.current.watch.debounceMs).toBe(3);
    expect(first.seen).toEqual([20, 10]);
    // Rolling back again goes forward to the version rolled back from.
    expect((await config.rollback()).config.journal.size).toBe(20);
  });

  it('applies all or nothing: when a later component fails, the earlier ones go back and the config stays', async () => {
    const { config, first, second, counters } = live();
    second.failOn = 30;
    await expect(config.patch({ journal: { size: 30 } })).rejects.toThrow(/second cannot take 30/);
    expect(config.current.journal.size).toBe(10);
    expect(first.seen).toEqual([30, 10]);
    expect(second.seen).toEqual([]);
    expect(counters.refused.value).toBe(1);
    expect(config.canRollback).toBe(false);
  });

  it('refuses an invalid change and one of a key read only at start, naming the keys, changing nothing', async () => {
    const { config, first } = live();
    await expect(config.patch({ journal: { size: -1 } })).rejects.toThrow(/journal\.size: -1 is not allowed/);
    await expect(config.patch({ port: 9999, stream: { maxFrameBytes: 4 * 1024 * 1024 } })).rejects.toThrow(
      /port: read only at start.*\n.*stream\.maxFrameBytes: read only at start/,
    );
    await expect(config.patch({ wach: {} })).rejects.toThrow(/wach: \{\} is not allowed \(unknown key\)/);
    await expect(config.patch([1])).rejects.toBeInstanceOf(ConfigError);
    expect(first.seen).toEqual([]);
    expect(config.current.journal.size).toBe(10);
  });

  it('PATCH changes stay on top of the files when they are read again', async () => {
    let fileSize = 10;
    const counters = { applied: new Tally(), refused: new Tally() };
    const logs = new LogCapture('info');
    const initial = resolveConfig({ journal: { size: fileSize } });
    const config = new LiveConfig(initial, {
      base: [{ journal: { size: fileSize } }],
      load: () => Promise.resolve([{ journal: { size: fileSize }, port: 1 }]),
      logger: logs.logger,
      counters,
    });
    await config.patch({ watch: { debounceMs: 8 } });
    fileSize = 50;
    const change = await config.reload();
    expect(change?.changed).toEqual(['journal.size']);
    expect(config.current).toMatchObject({ journal: { size: 50 }, watch: { debounceMs: 8 }, port: initial.port });
    expect(logs.find((line) => line.msg === 'config file changes keys read only at start: they apply at the next start')).toMatchObject({ keys: ['port'] });
  });

  it('redacts secrets, and a redacted secret given back keeps the one in force', async () => {
    const initial = resolveConfig({
      auth: {
        tokens: [
          { name: 'bot', token: 'a-long-secret-token-1' },
          { name: 'ops', sha256: 'a'.repeat(64), admin: true },
        ],
      },
      notify: { webhookUrl: 'https://hooks.example.com/T000/B000/xyz', webhookHeaders: { authorization: 'Bearer hook' } },
      cluster: { redis: 'rediss://tapebridge:redis-pass@redis.example:6380' },
    });
    const shown = redact(initial) as Config;
    expect(shown.cluster.redis).toBe(REDACTED);
    expect(shown.auth.tokens).toEqual([
      { name: 'bot', token: REDACTED },
      { name: 'ops', sha256: REDACTED, admin: true },
    ]);
    expect(shown.notify).toMatchObject({ webhookUrl: REDACTED, webhookHeaders: { authorization: REDACTED } });
    expect(JSON.stringify(shown)).not.toMatch(/a-long-secret|hooks\.example|Bearer hook|aaaa|redis-pass/);

    const { config } = live(initial);
    const change = await config.patch({ ...shown, journal: { size: 11 } });
    expect(change.changed).toEqual(['journal.size']);
    expect(config.current.auth).toEqual(initial.auth);
    expect(config.current.notify).toEqual(initial.notify);
    expect(config.current.cluster).toEqual(initial.cluster);
    await expect(config.patch({ auth: { tokens: [{ name: 'new', token: REDACTED }] } })).rejects.toThrow(/\[redacted\] given as the token of "new"/);
  });

  it('lists changed keys, treating lists, bar windows and headers as single values', () => {
    const a = resolveConfig({ sources: [{ path: '/a' }] });
    const b = resolveConfig({ sources: [{ path: '/b' }], document: { bars: { M1: 10, M5: 5 } }, log: { level: 'debug' } });
    expect(changedKeys(a, b)).toEqual(['sources', 'document.bars', 'log.level']);
  });
});
