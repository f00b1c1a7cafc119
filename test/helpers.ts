import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Ctx, startNetwork, type Network, type ProcessorSpec } from '@semops/cli';

/** Starts a fresh network of real processes in a temporary directory. */
export async function freshNetwork(opts: { transferTtlMs?: number; processors?: ProcessorSpec[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'semops-test-'));
  const net: Network = await startNetwork({ dir, ...opts });
  return {
    net,
    ctx: new Ctx(net),
    dir,
    async close() {
      await net.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir` (database, WAL, logs, keys…) as raw bytes, for searching. */
export function filesUnder(dir: string): Array<{ path: string; bytes: Buffer }> {
  const out: Array<{ path: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push({ path: p, bytes: readFileSync(p) });
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts that an HTTP call was refused with `status` and the stable error `code`. */
export async function expectCode(
  p: Promise<{ status: number; body: unknown }>,
  status: number,
  code: string,
): Promise<void> {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect((r.body as { error?: { code?: string } }).error?.code).toBe(code);
}
