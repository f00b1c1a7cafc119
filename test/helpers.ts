import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startNetwork, type Network, type ProcessorSpec } from '@semops/cli';
import { Ctx } from '@semops/cli/testkit';

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

/**
 * POSTs a body declared (Content-Length) as `length` bytes but sends only its first bytes: a server refuses
 * an oversized body from the declared length, before reading it, and answers; sending all of it would race
 * the server closing the connection (EPIPE on a loaded machine).
 */
export function postDeclaringLength(url: string, length: number): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(length) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          req.destroy();
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
      },
    );
    req.on('error', () => undefined); // the answer, not the unsent rest, is what counts
    req.write('{"jws":"');
  });
}
