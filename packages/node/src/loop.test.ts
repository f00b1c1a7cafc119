import { describe, expect, it, vi } from 'vitest';
import { startLoop, type Log } from './loop.js';

const logOf = () => {
  const warnings: unknown[][] = [];
  const log = {
    debug: () => undefined,
    info: () => undefined,
    error: () => undefined,
    warn: (...a: unknown[]) => void warnings.push(a),
  } as unknown as Log;
  return { log, warnings };
};

describe('startLoop', () => {
  it('runs at start and on its interval, never two runs at once, and not after stop', async () => {
    vi.useFakeTimers();
    try {
      let active = 0;
      let most = 0;
      let runs = 0;
      let release: (() => void) | undefined;
      const loop = startLoop({
        name: 'job',
        everyMs: 5,
        log: logOf().log,
        run: async () => {
          runs += 1;
          active += 1;
          most = Math.max(most, active);
          // The first run is held until the test lets it go: ticks meanwhile must not start another.
          if (runs === 1) await new Promise<void>((r) => (release = r));
          active -= 1;
        },
      });
      expect(runs).toBe(1);
      await vi.advanceTimersByTimeAsync(50);
      const held = loop.runNow();
      expect(runs).toBe(1);
      release!();
      await held;
      await vi.advanceTimersByTimeAsync(5);
      expect(runs).toBe(2);
      await vi.advanceTimersByTimeAsync(10);
      expect(runs).toBe(4);
      await loop.stop();
      await vi.advanceTimersByTimeAsync(100);
      expect(runs).toBe(4);
      expect(most).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('logs a failed run as a warning with its name and goes on', async () => {
    const { log, warnings } = logOf();
    let runs = 0;
    const loop = startLoop({
      name: 'sweep',
      everyMs: 5,
      log,
      run: async () => {
        runs += 1;
        if (runs === 1) throw new Error('disk full');
      },
    });
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(2));
    await loop.stop();
    expect(warnings[0]).toEqual([{ loop: 'sweep', err: 'disk full' }, 'sweep failed; will retry']);
  });
});
