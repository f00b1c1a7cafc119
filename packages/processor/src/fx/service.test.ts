import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../channels/testing.js';
import { createProcessor } from '../app.js';

let dir: string;
let file: string;
let t: TestNode;
let mtime = Math.floor(Date.now() / 1000) - 1000;

/** Replaces the rates file, with a modification time that always moves forward (as a new file's does). */
function writeRates(text: string): void {
  writeFileSync(file, text);
  mtime += 10;
  utimesSync(file, mtime, mtime);
}

interface Settings {
  rates: Array<{ base: string; quote: string; rate: string; source: string }>;
  spreadBps: number;
  feeFixed: Record<string, string>;
  quoteTtlMs: number;
  ratesFile?: string;
  loadedAt?: number;
  ratesFileError?: string;
}

const admin = () => ({ token: t.node.adminToken });
const settings = async () => (await t.call<Settings>('GET', '/v1/admin/fx', admin())).body;

async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'semops-rates-'));
  file = join(dir, 'rates.csv');
  writeRates('# base,quote,rate\nEUR,HUF,392.45\n');
  t = await startTestNode({
    fx: { ratesFile: file, spreadBps: 50, feeFixed: { HUF: '10000' }, quoteTtlMs: 30_000, pollMs: 20 },
  });
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rates and FX settings (operator)', () => {
  it('loads the rates file at start and shows rates, spread, fees and validity to the operator only', async () => {
    const s = await settings();
    expect(s).toMatchObject({
      rates: [{ base: 'EUR', quote: 'HUF', rate: '392.45', source: 'file' }],
      spreadBps: 50,
      feeFixed: { HUF: '10000' },
      quoteTtlMs: 30_000,
      ratesFile: file,
    });
    expect(s.loadedAt).toBeGreaterThan(0);
    expect(s.ratesFileError).toBeUndefined();
    expect((await t.call('GET', '/v1/admin/fx')).status).toBe(401);
    expect((await t.call('POST', '/v1/admin/fx/reload', { token: 'wrong' })).status).toBe(401);
  });

  it('reloads the file when it changes; a bad file changes nothing and is reported with its line', async () => {
    writeRates('EUR,HUF,395.10\nEUR,CZK,25.2\n');
    await eventually(async () => (await settings()).rates.some((r) => r.rate === '395.10'));
    expect((await settings()).rates.map((r) => `${r.base}/${r.quote} ${r.rate}`)).toEqual([
      'EUR/CZK 25.2',
      'EUR/HUF 395.10',
    ]);

    writeRates('EUR,HUF,395.10\nEUR,CZK,twenty\n');
    await eventually(async () => (await settings()).ratesFileError !== undefined);
    const s = await settings();
    expect(s.ratesFileError).toMatch(/line 2: the rate must be a positive decimal/);
    expect(s.rates.map((r) => r.rate)).toEqual(['25.2', '395.10']);

    const r = await t.call<{ error: { code: string; details: { line: number } } }>(
      'POST',
      '/v1/admin/fx/reload',
      admin(),
    );
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('RATES_FILE_INVALID');
    expect(r.body.error.details.line).toBe(2);
    expect((await settings()).rates.map((x) => x.rate)).toEqual(['25.2', '395.10']);

    // Fixed by the operator and reloaded on command: back in force, the error gone.
    writeFileSync(file, 'EUR,HUF,392.45\n');
    const ok = await t.call<Settings>('POST', '/v1/admin/fx/reload', admin());
    expect(ok.status).toBe(200);
    expect(ok.body.rates).toEqual([{ base: 'EUR', quote: 'HUF', rate: '392.45', source: 'file' }]);
    expect(ok.body.ratesFileError).toBeUndefined();
  });

  it('takes rates and configuration from the operator, refusing bad input without a change', async () => {
    const put = await t.call<Settings>('PUT', '/v1/admin/fx/rates', {
      ...admin(),
      body: { rates: [{ base: 'HUF', quote: 'EUR', rate: '0.0025' }] },
    });
    expect(put.status).toBe(200);
    expect(put.body.rates).toEqual([{ base: 'HUF', quote: 'EUR', rate: '0.0025', source: 'admin' }]);
    const bad = await t.call<{ error: { code: string } }>('PUT', '/v1/admin/fx/rates', {
      ...admin(),
      body: { rates: [{ base: 'HUF', quote: 'EUR', rate: '-1' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect((await settings()).rates).toEqual(put.body.rates);

    const cfg = await t.call<Settings>('PUT', '/v1/admin/fx/config', {
      ...admin(),
      body: { spreadBps: 40, feeFixed: { EUR: '0', HUF: '5000' }, quoteTtlMs: 1000 },
    });
    expect(cfg.body).toMatchObject({ spreadBps: 40, feeFixed: { EUR: '0', HUF: '5000' }, quoteTtlMs: 1000 });
    for (const body of [
      { spreadBps: 10_000 },
      { quoteTtlMs: 0 },
      { feeFixed: { HUF: '1.5' } },
      { feeFixed: { XXX: '1' } },
    ]) {
      const r = await t.call<{ error: { code: string } }>('PUT', '/v1/admin/fx/config', { ...admin(), body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect(await settings()).toMatchObject({ spreadBps: 40, quoteTtlMs: 1000 });

    // The file wins again when reloaded.
    await t.call('PUT', '/v1/admin/fx/config', {
      ...admin(),
      body: { spreadBps: 50, feeFixed: { HUF: '10000' }, quoteTtlMs: 30_000 },
    });
    expect((await t.call<Settings>('POST', '/v1/admin/fx/reload', admin())).body.rates[0]?.source).toBe(
      'file',
    );
  });

  it('refuses an empty rates list, which would switch conversion off, and changes nothing', async () => {
    const before = (await settings()).rates;
    expect(before.length).toBeGreaterThan(0);
    const r = await t.call<{ error: { code: string; message: string; details: { issues: unknown[] } } }>(
      'PUT',
      '/v1/admin/fx/rates',
      { ...admin(), body: { rates: [] } },
    );
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
    expect(r.body.error.message).toMatch(/rates: at least one rate is needed; an empty list would switch/);
    expect(r.body.error.details.issues).toMatchObject([{ path: 'rates' }]);
    expect((await settings()).rates).toEqual(before);
  });

  it('refuses to start with a bad rates file', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'EUR;HUF;392.45\n');
    const start = createProcessor({
      id: 'bank-x',
      name: 'Bank X',
      kind: 'bank',
      currencies: ['HUF'],
      routingPrefix: '404',
      country: 'HU',
      dataDir: join(dir, 'bank-x'),
      hubUrl: 'http://127.0.0.1:9',
      fx: { ratesFile: bad },
    });
    await expect(start).rejects.toMatchObject({ code: 'RATES_FILE_INVALID', details: { line: 1 } });
  });
});
