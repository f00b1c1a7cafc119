/**
 * `semops bench e2e`: the generator's phone signs what the processor accepts, and a short run on a real
 * network completes payments without errors, reports the documented shape and leaves nothing behind.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  APPROVAL_TYP,
  decryptJson,
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  publicPart,
  verifyJson,
} from '@semops/protocol';
import { parseConcurrency, runE2eBench } from './e2e.js';
import { BenchPhone, sealPin } from './phone.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('bench e2e', () => {
  it("signs approvals and seals PINs as the processor's jose code reads them", async () => {
    const device = await generateSigningKeys();
    const processor = await generateEncryptionKeys();
    const phone = new BenchPhone('dev_1', 'token', device.privateJwk, publicPart(processor.publicJwk));
    const amount = { value: '420', currency: 'EUR' };
    const jws = phone.approval({ requestId: 'req_1', processorId: 'mno-b' }, amount);
    const payload = (await verifyJson(jws, await importSigningKey(device.publicJwk), APPROVAL_TYP)) as {
      deviceId: string;
      payee: string;
      amount: unknown;
      pin: string;
    };
    expect(payload).toMatchObject({ deviceId: 'dev_1', payee: 'mno-b', amount });
    const key = await importEncryptionKey(processor.privateJwk);
    expect(await decryptJson(payload.pin, key)).toEqual({ pin: '1234' });
    const processorKey = createPublicKey({
      key: publicPart(processor.publicJwk) as JsonWebKey,
      format: 'jwk',
    });
    expect(await decryptJson(sealPin('9876', processorKey), key)).toEqual({ pin: '9876' });
  });

  it('parses concurrency lists', () => {
    expect(parseConcurrency('1,32, 64')).toEqual([1, 32, 64]);
    expect(() => parseConcurrency('1,x')).toThrow(RangeError);
    expect(() => parseConcurrency('0')).toThrow(RangeError);
  });

  it('completes payments through a fresh network and tears it down', { timeout: 90_000 }, async () => {
    let network: { dir: string; pids: readonly number[] } | undefined;
    const result = await runE2eBench({
      seconds: 2,
      concurrency: [2],
      payers: 4,
      onNetwork: (info) => (network = info),
    });
    expect(Object.keys(result)).toEqual(['sqlite']);
    expect(result.sqlite.runs).toHaveLength(1);
    const run = result.sqlite.runs[0]!;
    expect(Object.keys(run).sort()).toEqual(
      ['concurrency', 'cpuMsPerPayment', 'errorCodes', 'errors', 'p50Ms', 'p99Ms', 'paymentsPerSec'].sort(),
    );
    expect(run.concurrency).toBe(2);
    expect(run.errors).toBe(0);
    expect(run.errorCodes).toEqual({});
    expect(run.paymentsPerSec).toBeGreaterThan(0);
    expect(run.p50Ms).toBeGreaterThan(0);
    expect(run.p99Ms).toBeGreaterThanOrEqual(run.p50Ms);
    expect(Object.keys(run.cpuMsPerPayment).sort()).toEqual(['generator', 'hub', 'payee', 'payer']);
    for (const v of Object.values(run.cpuMsPerPayment)) {
      if (process.platform === 'linux') expect(v).toBeGreaterThan(0);
    }
    // Torn down: the node processes are gone and so is the temporary directory.
    expect(network).toBeDefined();
    expect(network!.pids).toHaveLength(3);
    expect(network!.pids.filter(alive)).toEqual([]);
    expect(existsSync(network!.dir)).toBe(false);
  });
});
