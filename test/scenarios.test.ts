import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'packages', 'cli', 'dist', 'main.js');

describe('semops scenarios --json', () => {
  it('runs every scenario through the public APIs and all pass with money conserved', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'scenarios', '--json'], {
      maxBuffer: 10 * 1024 * 1024,
    }).catch((e: { stdout: string; stderr: string }) => ({ stdout: e.stdout }));
    const results = JSON.parse(stdout) as Array<{ name: string; ok: boolean; ms: number; detail: string }>;
    expect(results.length).toBeGreaterThanOrEqual(13);
    for (const r of results) {
      expect(typeof r.ms).toBe('number');
      expect(r, r.detail).toMatchObject({ ok: true });
    }
  }, 180_000);
});
