import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Wallet, codeOf, startNetwork, type Network } from '@semops/cli';
import { Ctx } from '@semops/cli/testkit';
import { expectConserved } from './helpers.js';
import { postgresReachable, schemaName, testPostgresUrl } from '@semops/node';

const url = testPostgresUrl();
const reachable = await postgresReachable(url);
if (!reachable && process.env.CI === 'true') {
  throw new Error(`PostgreSQL is required under CI=true but ${url} is not reachable.`);
}
if (!reachable) console.warn(`Skipping the multi-instance PostgreSQL test: no PostgreSQL at ${url}.`);

// Two instances of one processor on one PostgreSQL schema, under concurrent payments: no lost update, no
// double spending, every balance exact.
describe.skipIf(!reachable)('two instances of a processor on one PostgreSQL database', () => {
  const prefix = `mi_${Date.now().toString(36)}_`;
  const dir = mkdtempSync(join(tmpdir(), 'semops-mi-'));
  let net: Network;
  let ctx: Ctx;
  let second: Awaited<ReturnType<Network['addInstance']>>;
  beforeAll(async () => {
    net = await startNetwork({ dir, databaseUrl: url, schemaPrefix: prefix });
    ctx = new Ctx(net);
    second = await net.addInstance('bank-a');
  }, 60_000);
  afterAll(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
      [schemaName(prefix)],
    );
    for (const r of rows) await c.query(`DROP SCHEMA "${r.nspname}" CASCADE`);
    await c.end();
  });

  it('pays concurrently through both instances and keeps every balance exact', async () => {
    const m = await ctx.merchant('mno-b', 'Busy Shop');
    const request = await m.client.createRequest({
      currency: 'EUR',
      minAmount: { value: '1', currency: 'EUR' },
      reference: 'busy',
      reusable: true,
    });
    const customers = await Promise.all(Array.from({ length: 8 }, () => ctx.customer('bank-a', 10_00n)));
    // Each customer has a wallet on instance 1 and the same device reached through instance 2.
    const viaSecond = customers.map((c) => Wallet.restore({ ...c.wallet.export(), url: second.url }));
    const wallets2 = await Promise.all(viaSecond);
    // Every customer tries to spend 7.00 twice at once, once through each instance: only one can succeed.
    const attempts = customers.flatMap((c, i) => [
      (async () => c.wallet.pay(request.qr, '1234', { value: '700', currency: 'EUR' }))(),
      (async () => wallets2[i]!.pay(request.qr, '1234', { value: '700', currency: 'EUR' }))(),
    ]);
    const outcomes = await Promise.all(
      attempts.map((p) =>
        p.then(
          (r) => r.status,
          (e: { code?: string }) => e.code ?? 'ERROR',
        ),
      ),
    );
    await expectConserved(ctx, 20_000);
    let completed = 0;
    for (let i = 0; i < customers.length; i++) {
      const pair = outcomes.slice(2 * i, 2 * i + 2);
      const ok = pair.filter((s) => s === 'COMPLETED').length;
      expect(ok, `customer ${i}: ${pair.join(', ')}`).toBe(1);
      expect(pair.filter((s) => s !== 'COMPLETED')).toEqual(['INSUFFICIENT_FUNDS']);
      completed += ok;
      const me = await customers[i]!.wallet.me();
      expect(me.balance.value).toBe('300');
      expect(me.available.value).toBe('300');
    }
    expect(await ctx.merchantBalance(m)).toBe(BigInt(completed) * 700n);
    // A request created through one instance is paid through the other; a replay across instances fails.
    const local = await ctx.merchant('bank-a', 'Local Shop');
    const once = await local.client.createRequest({
      currency: 'EUR',
      amount: { value: '100', currency: 'EUR' },
      reference: 'x',
    });
    const approval = await wallets2[0]!.approval(await wallets2[0]!.resolve(once.qr), '1234');
    await customers[0]!.wallet.resolve(once.qr);
    const [a, b] = await Promise.all([
      codeOf(customers[0]!.wallet.submit(approval)),
      codeOf(wallets2[0]!.submit(approval)),
    ]);
    expect([a, b].sort()).toEqual(['APPROVAL_REPLAYED', 'OK']);
    expect((await customers[0]!.wallet.me()).balance.value).toBe('200');
  }, 90_000);
});
