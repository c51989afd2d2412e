import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readScDateTime, roundFloat32, SC_EPOCH_OFFSET_US, writeLegacyScDateTime, writeScDateTime } from '../../src/formats/sierra-time.js';

function view(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

describe('sierra-time: SCDateTime', () => {
  it('converts the worked example of FORMATS.md §1.4', () => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(3886173439026000n, 0);
    expect(readScDateTime(view(bytes), 0)).toBe(1677011839026);
    expect(SC_EPOCH_OFFSET_US).toBe(25_569 * 86_400 * 1_000_000);
  });

  it('reads zero as NaN (unset record)', () => {
    expect(readScDateTime(view(Buffer.alloc(8)), 0)).toBeNaN();
  });

  it('reads a legacy double of days (45000.5 days) and rejects negative/NaN doubles', () => {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(45000.5, 0);
    expect(bytes.readBigInt64LE(0)).toBe(4676417635208921088n);
    expect(readScDateTime(view(bytes), 0)).toBe((45000.5 - 25569) * 86_400_000);
    bytes.writeDoubleLE(-1, 0);
    expect(readScDateTime(view(bytes), 0)).toBeNaN();
    bytes.writeDoubleLE(Number.NaN, 0);
    expect(readScDateTime(view(bytes), 0)).toBeNaN();
  });

  it('round-trips modern and legacy writes (property)', () => {
    const bytes = Buffer.alloc(8);
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.integer({ min: 0, max: 999 }), (ms, micros) => {
        const time = ms + micros / 1000;
        writeScDateTime(view(bytes), 0, time);
        expect(bytes.readBigInt64LE(0)).toBe(BigInt(ms) * 1000n + BigInt(micros) + BigInt(SC_EPOCH_OFFSET_US));
        expect(Math.abs(readScDateTime(view(bytes), 0) - time)).toBeLessThan(0.0005);
        writeLegacyScDateTime(view(bytes), 0, time);
        expect(Math.abs(readScDateTime(view(bytes), 0) - time)).toBeLessThan(1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('sierra-time: roundFloat32', () => {
  it('publishes float32 prices with the digits they were written with', () => {
    for (const price of [1.10432, 1.03512, 0.61234, 4048.25, 6012.75, 2650.1, 152.347, 38123.5, 0.0012345, 1234567]) {
      expect(roundFloat32(Math.fround(price)), String(price)).toBe(price);
    }
    expect(roundFloat32(0)).toBe(0);
    expect(roundFloat32(Math.fround(-1.10432))).toBe(-1.10432);
    expect(roundFloat32(Number.NaN)).toBeNaN();
  });

  it('restores any 7-significant-digit price between 0.001 and 10^7 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000_000, max: 9_999_999 }), fc.integer({ min: 0, max: 9 }), (mantissa, decimals) => {
        const price = mantissa / 10 ** decimals;
        expect(roundFloat32(Math.fround(price))).toBe(price);
      }),
      { numRuns: 2000 },
    );
  });
});
