import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerTransition } from '../../src/core/circuit-breaker.js';

const options = { failureThreshold: 5, coolDownMs: 60_000, retryBaseMs: 1000, retryMaxMs: 4000 };

function breaker(): { breaker: CircuitBreaker; transitions: BreakerTransition[] } {
  const transitions: BreakerTransition[] = [];
  return { breaker: new CircuitBreaker((transition) => transitions.push(transition)), transitions };
}

describe('CircuitBreaker', () => {
  it('backs off 1 s, 2 s, 4 s, 4 s while closed, and opens at the fifth failure in a row for the cool-down', () => {
    const { breaker: b, transitions } = breaker();
    const delays = [0, 1, 2, 3].map((i) => b.failure(i * 10_000, options));
    expect(delays).toEqual([1000, 2000, 4000, 4000]);
    expect(b.state).toBe('CLOSED');
    expect(b.backingOff).toBe(true);
    expect(b.failure(50_000, options)).toBe(60_000);
    expect(b.state).toBe('OPEN');
    expect(transitions).toEqual([{ from: 'CLOSED', to: 'OPEN', failures: 5, retryAt: 110_000 }]);
  });

  it('refuses attempts while open, allows one trial after the cool-down, and closes on its success', () => {
    const { breaker: b, transitions } = breaker();
    for (let i = 0; i < 5; i++) b.failure(0, options);
    expect(b.tryAttempt(59_999)).toBe(false);
    expect(b.state).toBe('OPEN');
    expect(b.tryAttempt(60_000)).toBe(true);
    expect(b.state).toBe('HALF_OPEN');
    b.success();
    expect(b.state).toBe('CLOSED');
    expect(b.failures).toBe(0);
    expect(b.backingOff).toBe(false);
    expect(transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['CLOSED>OPEN', 'OPEN>HALF_OPEN', 'HALF_OPEN>CLOSED']);
  });

  it('opens again for a full cool-down when the trial fails', () => {
    const { breaker: b, transitions } = breaker();
    for (let i = 0; i < 5; i++) b.failure(0, options);
    b.tryAttempt(60_000);
    expect(b.failure(60_500, options)).toBe(60_000);
    expect(b.state).toBe('OPEN');
    expect(b.retryAt).toBe(120_500);
    expect(transitions.at(-1)).toEqual({ from: 'HALF_OPEN', to: 'OPEN', failures: 6, retryAt: 120_500 });
  });

  it('starts counting again after a success', () => {
    const { breaker: b } = breaker();
    for (let i = 0; i < 4; i++) b.failure(0, options);
    b.success();
    for (let i = 0; i < 4; i++) b.failure(0, options);
    expect(b.state).toBe('CLOSED');
    expect(b.failure(0, options)).toBe(60_000);
  });
});
