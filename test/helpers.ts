import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startNetwork, type Network, type ProcessorSpec } from '@semops/cli';
import { Ctx } from '@semops/cli/testkit';

/** Starts a fresh network of real processes in a temporary directory. */
export async function freshNetwork(
  opts: { transferTtlMs?: number; processors?: ProcessorSpec[]; logLevel?: string } = {},
) {
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

/**
 * Asserts, once the network is stopped (so that WAL files and logs are complete), that a payer's phone
 * number (with and without `+`) and the words of their name are in their own processor's files (the search
 * works) and in none of the hub's or the other processors'.
 */
export function expectPayerOnlyAtOwnProcessor(
  dir: string,
  payer: { readonly phone: string; readonly name: string },
  own = 'bank-a',
  others: readonly string[] = ['hub', 'mno-b'],
): void {
  const needles = [payer.phone, payer.phone.slice(1), ...payer.name.split(/\s+/)];
  const scan = (node: string) =>
    filesUnder(join(dir, node)).flatMap((f) =>
      needles.filter((n) => f.bytes.includes(Buffer.from(n))).map((n) => `${f.path}: ${n}`),
    );
  expect(scan(own).length).toBeGreaterThan(0);
  for (const node of others) expect(scan(node)).toEqual([]);
}

/**
 * Waits until the network is quiet and its books agree: every ledger balanced, nothing reserved or pending,
 * each settlement account equal to the hub position, positions summing to zero.
 */
export async function expectConserved(ctx: Ctx, timeout = 10_000): Promise<void> {
  await expect.poll(() => ctx.conservation(), { timeout, interval: 100 }).toBeUndefined();
}

/** Asserts that an HTTP call was refused with `status`, the stable error `code` and a message to show. */
export async function expectCode(
  p: Promise<{ status: number; body: unknown }>,
  status: number,
  code: string,
): Promise<void> {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  const error = (r.body as { error?: { code?: string; message?: string } }).error;
  expect(error?.code, JSON.stringify(r.body)).toBe(code);
  expect(error?.message?.length ?? 0, 'the error has no message').toBeGreaterThan(5);
}
