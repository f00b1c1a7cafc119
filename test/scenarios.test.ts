import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '@semops/cli';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'packages', 'cli', 'dist', 'main.js');

describe('semops scenarios --json', () => {
  it('runs every scenario of the catalogue through the public APIs, in order, and all pass with money conserved', async () => {
    const { stdout, code } = await run(process.execPath, [CLI, 'scenarios', '--json'], {
      maxBuffer: 10 * 1024 * 1024,
    }).then(
      (r) => ({ stdout: r.stdout, code: 0 }),
      (e: { stdout: string; code: number }) => ({ stdout: e.stdout, code: e.code }),
    );
    const results = JSON.parse(stdout) as Array<{ name: string; ok: boolean; ms: number; detail: string }>;
    // Exactly the catalogue (the built CLI against these sources: a stale `dist` shows here as a difference).
    expect(results.map((r) => r.name)).toEqual(SCENARIOS.map((s) => s.name));
    for (const r of results) {
      expect(typeof r.ms).toBe('number');
      expect(r, r.detail).toMatchObject({ ok: true });
    }
    expect(code, 'the command exits 0 when every scenario passed').toBe(0);
  }, 180_000);
});
