import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';

/** The lines a logger writes to a stream of its own. */
function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('the logger', () => {
  it('writes a problem for a person as time, level, component, message, file and offset, the other fields below, secrets redacted', () => {
    const { stream, text } = capture();
    const logger = createLogger('info', stream, 'pretty');
    logger.child({ component: 'watch', file: '/data/ESZ25_FUT_CME.scid' }).warn({ event: 'record_skipped', offset: 4096 }, 'record has no DateTime; skipped');
    logger.info({ token: 'secret-value' }, 'tokens reloaded');
    const lines = text().split('\n');
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: watch: record has no DateTime; skipped — \/data\/ESZ25_FUT_CME\.scid at byte 4096$/);
    expect(lines[1]).toBe('    event: "record_skipped"');
    expect(text()).toContain('INFO: tokens reloaded');
    expect(text()).not.toContain('secret-value');
  });

  it('writes JSON lines by default, with the same fields', () => {
    const { stream, text } = capture();
    createLogger('info', stream).child({ component: 'watch', file: 'a.scid' }).warn({ event: 'record_skipped', offset: 40 }, 'bad');
    expect(JSON.parse(text())).toMatchObject({
      level: 40,
      component: 'watch',
      file: 'a.scid',
      offset: 40,
      event: 'record_skipped',
      msg: 'bad',
      service: 'tapebridge',
    });
  });
});
