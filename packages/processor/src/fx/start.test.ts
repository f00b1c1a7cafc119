import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessor, type ProcessorNode } from '../app.js';
import { fxOptionsFromFlags } from './flags.js';
import type { FxOptions } from './service.js';

// One processor's data directory (a real SQLite file), started again and again as an operator would: the FX
// flags given at a start are applied, those left out keep what the database holds.
let dir: string;
let file: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'semops-fx-start-'));
  file = join(dir, 'rates.csv');
  writeFileSync(file, 'EUR,HUF,392.45\n');
  const old = Math.floor(Date.now() / 1000) - 1000;
  utimesSync(file, old, old);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Settings {
  rates: Array<{ base: string; quote: string; rate: string; source: string }>;
  spreadBps: number;
  feeFixed: Record<string, string>;
  quoteTtlMs: number;
  ratesFile?: string;
}

function start(fx: FxOptions | undefined, instance = false): Promise<ProcessorNode> {
  return createProcessor({
    id: 'bank-c',
    name: 'Bank C',
    kind: 'bank',
    currencies: ['HUF'],
    routingPrefix: '303',
    country: 'HU',
    dataDir: join(dir, 'bank-c'),
    hubUrl: 'http://127.0.0.1:9',
    reconcileIntervalMs: 60_000,
    ...(fx ? { fx } : {}),
    instance,
  });
}

async function call<T>(n: ProcessorNode, method: 'GET' | 'PUT', url: string, body?: unknown) {
  const res = await n.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${n.adminToken}` },
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  return { status: res.statusCode, body: JSON.parse(res.body) as T };
}

/** Starts the node, reads its FX settings (after `before` ran on it), and stops it. */
async function settingsAfterStart(
  fx: FxOptions | undefined,
  instance = false,
  before?: (n: ProcessorNode) => Promise<void>,
): Promise<Settings> {
  const n = await start(fx, instance);
  try {
    if (before) await before(n);
    return (await call<Settings>(n, 'GET', '/v1/admin/fx')).body;
  } finally {
    await n.close();
  }
}

describe('FX settings across restarts and instances', () => {
  it('applies only the flags given at a start; the operator’s changes survive a restart', async () => {
    const first = await settingsAfterStart(
      { ratesFile: file, spreadBps: 50, feeFixed: { HUF: '10000' }, quoteTtlMs: 30_000 },
      false,
      async (n) => {
        const put = await call<Settings>(n, 'PUT', '/v1/admin/fx/config', {
          spreadBps: 40,
          feeFixed: { HUF: '5000' },
          quoteTtlMs: 20_000,
        });
        expect(put.status).toBe(200);
      },
    );
    expect(first).toMatchObject({ spreadBps: 40, feeFixed: { HUF: '5000' }, quoteTtlMs: 20_000 });

    // Restarted with the rates file only (as `--rates-file` alone): nothing else is reset to a default.
    expect(await settingsAfterStart(fxOptionsFromFlags({ ratesFile: file }))).toMatchObject({
      spreadBps: 40,
      feeFixed: { HUF: '5000' },
      quoteTtlMs: 20_000,
      ratesFile: resolve(file),
    });
    // Without any FX flag: the same.
    expect(await settingsAfterStart(undefined)).toMatchObject({
      spreadBps: 40,
      feeFixed: { HUF: '5000' },
      quoteTtlMs: 20_000,
    });
    // A flag given is applied, and only that one.
    expect(await settingsAfterStart(fxOptionsFromFlags({ ratesFile: file, spreadBps: '60' }))).toMatchObject({
      spreadBps: 60,
      feeFixed: { HUF: '5000' },
      quoteTtlMs: 20_000,
    });
    expect(
      await settingsAfterStart(fxOptionsFromFlags({ fees: ['HUF:7500', 'EUR:50'], quoteTtlMs: '45000' })),
    ).toMatchObject({ spreadBps: 60, feeFixed: { HUF: '7500', EUR: '50' }, quoteTtlMs: 45_000 });
  });

  it('a further instance applies none of its flags; the rates file wins over the operator’s rates only when (re)loaded', async () => {
    const adminRates = [{ base: 'EUR', quote: 'HUF', rate: '395', source: 'admin' }];
    const set = await settingsAfterStart(fxOptionsFromFlags({ ratesFile: file }), false, async (n) => {
      const put = await call<Settings>(n, 'PUT', '/v1/admin/fx/rates', {
        rates: [{ base: 'EUR', quote: 'HUF', rate: '395' }],
      });
      expect(put.status).toBe(200);
    });
    expect(set.rates).toEqual(adminRates);
    const before = { spreadBps: set.spreadBps, feeFixed: set.feeFixed, quoteTtlMs: set.quoteTtlMs };

    // `--instance` with every flag: the running processor's settings and the operator's rates stand (the
    // rates file did not change since it was loaded).
    const further = await settingsAfterStart(
      fxOptionsFromFlags({ ratesFile: file, spreadBps: '10', fees: ['HUF:1'], quoteTtlMs: '1000' }),
      true,
    );
    expect(further).toMatchObject(before);
    expect(further.rates).toEqual(adminRates);

    // A further instance does load a rates file that changed since it was last loaded (as every poll does).
    writeFileSync(file, 'EUR,HUF,396.5\n');
    const changed = await settingsAfterStart(fxOptionsFromFlags({ ratesFile: file }), true);
    expect(changed.rates).toEqual([{ base: 'EUR', quote: 'HUF', rate: '396.5', source: 'file' }]);
    expect(changed).toMatchObject(before);

    // The first instance's start loads the rates file again: it wins over rates the operator set since.
    const again = await settingsAfterStart(fxOptionsFromFlags({ ratesFile: file }), false, async (n) => {
      await call(n, 'PUT', '/v1/admin/fx/rates', { rates: [{ base: 'EUR', quote: 'HUF', rate: '395' }] });
    });
    expect(again.rates).toEqual(adminRates);
    expect((await settingsAfterStart(fxOptionsFromFlags({ ratesFile: file }))).rates).toEqual([
      { base: 'EUR', quote: 'HUF', rate: '396.5', source: 'file' },
    ]);
  });
});

describe('a broken rates file at start', () => {
  it('keeps the rates in force and reports the file when the processor has rates; the poll loads it once fixed', async () => {
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, 'EUR,HUF,410.00\nEUR,HUF2,1e3\n');
    try {
      const n = await start({ ratesFile: file, pollMs: 20 });
      try {
        const s = (await call<Settings & { ratesFileError?: string }>(n, 'GET', '/v1/admin/fx')).body;
        expect(s.rates).toEqual([{ base: 'EUR', quote: 'HUF', rate: '396.5', source: 'file' }]);
        expect(s.ratesFileError).toMatch(/line 2/);
        writeFileSync(file, good);
        const end = Date.now() + 3000;
        let after = s;
        while (after.ratesFileError !== undefined && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 20));
          after = (await call<Settings & { ratesFileError?: string }>(n, 'GET', '/v1/admin/fx')).body;
        }
        expect(after.ratesFileError).toBeUndefined();
        expect(after.rates).toEqual([{ base: 'EUR', quote: 'HUF', rate: '396.5', source: 'file' }]);
      } finally {
        await n.close();
      }
    } finally {
      writeFileSync(file, good);
    }
  });
});

describe('FX flags', () => {
  it('turn into options holding only what was given', () => {
    expect(fxOptionsFromFlags({})).toBeUndefined();
    expect(fxOptionsFromFlags({ fees: [] })).toBeUndefined();
    expect(fxOptionsFromFlags({ ratesFile: 'rates.csv' })).toEqual({ ratesFile: resolve('rates.csv') });
    expect(fxOptionsFromFlags({ spreadBps: '50' })).toEqual({ spreadBps: 50 });
    expect(fxOptionsFromFlags({ fees: ['HUF:10000', 'EUR:0'], quoteTtlMs: '30000' })).toEqual({
      feeFixed: { HUF: '10000', EUR: '0' },
      quoteTtlMs: 30_000,
    });
  });

  it('refuse bad values, naming the flag', () => {
    expect(() => fxOptionsFromFlags({ spreadBps: '5.5' })).toThrow(/--fx-spread-bps takes a whole number/);
    expect(() => fxOptionsFromFlags({ spreadBps: '10000' })).toThrow(/bad FX flag: .*spreadBps/);
    expect(() => fxOptionsFromFlags({ fees: ['HUF=1'] })).toThrow(/--fx-fee takes CUR:MINOR_UNITS/);
    expect(() => fxOptionsFromFlags({ quoteTtlMs: '1' })).toThrow(/quoteTtlMs/);
  });
});
