import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
