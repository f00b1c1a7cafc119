import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wallet, call } from '@semops/cli';
import { expectCode, expectConserved, freshNetwork } from './helpers.js';

/** Prepaid e-money and account care endpoints: bad input gets a 4xx with a stable code and changes nothing. */
describe('account care and prepaid: bad input', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let url: string;
  let admin: string;
  let customerId: string;
  let token: string;
  let wallet: Wallet;
  let snapshot: () => Promise<string>;

  beforeAll(async () => {
    env = await freshNetwork();
    const p = env.net.processors.get('mno-b')!;
    url = p.url;
    admin = p.admin.token;
    const c = await env.ctx.customer('mno-b', 40_00n);
    customerId = c.customerId;
    token = c.wallet.accessToken;
    wallet = c.wallet;
    snapshot = async () => {
      const parts = [JSON.stringify(await p.admin.ledger())];
      parts.push(JSON.stringify(await call('GET', `${url}/v1/wallet/limits`, { token })));
      return parts.join('\n');
    };
  }, 60_000);
  afterAll(async () => env?.close());

  it('refuses bad tiers, kinds and voucher batches', async () => {
    const before = await snapshot();
    const t = `${url}/v1/admin/customers/${customerId}/tier`;
    await expectCode(call('POST', t, { token: admin, body: { tier: 4 } }), 400, 'VALIDATION_FAILED');
    await expectCode(call('POST', t, { token: admin, body: { kind: 'crypto' } }), 400, 'VALIDATION_FAILED');
    await expectCode(call('POST', t, { token: admin, body: {} }), 400, 'VALIDATION_FAILED');
    await expectCode(call('POST', t, { body: { tier: 2 } }), 401, 'UNAUTHORIZED');
    await expectCode(
      call('POST', `${url}/v1/admin/customers/cus_00000000000000000000000000/tier`, {
        token: admin,
        body: { tier: 2 },
      }),
      404,
      'CUSTOMER_NOT_FOUND',
    );
    const v = `${url}/v1/admin/vouchers`;
    await expectCode(
      call('POST', v, { token: admin, body: { amount: '0', count: 1 } }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', v, { token: admin, body: { amount: '100', count: 0 } }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', v, { token: admin, body: { amount: '100', count: 5000 } }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(call('POST', v, { body: { amount: '100', count: 1 } }), 401, 'UNAUTHORIZED');
    await expectCode(
      call('POST', `${url}/v1/admin/customers`, {
        token: admin,
        body: { phone: '+436601234567', name: 'X', currency: 'EUR', tier: 9 },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await snapshot()).toBe(before);
  });

  it('refuses bad top-ups', async () => {
    const before = await snapshot();
    const u = `${url}/v1/wallet/topup`;
    await expectCode(call('POST', u, { token, body: { code: 'abc' } }), 404, 'VOUCHER_INVALID');
    await expectCode(call('POST', u, { token, body: { code: '1234567812345678' } }), 404, 'VOUCHER_INVALID');
    await expectCode(call('POST', u, { token, body: {} }), 400, 'VALIDATION_FAILED');
    await expectCode(call('POST', u, { token, body: { code: '1', extra: 1 } }), 400, 'VALIDATION_FAILED');
    await expectCode(call('POST', u, { body: { code: '1234567812345678' } }), 401, 'UNAUTHORIZED');
    expect(await snapshot()).toBe(before);
  });

  it('refuses bad statement queries', async () => {
    const s = `${url}/v1/wallet/statement`;
    await expectCode(call('GET', `${s}?type=salary`, { token }), 400, 'VALIDATION_FAILED');
    await expectCode(call('GET', `${s}?format=xml`, { token }), 400, 'VALIDATION_FAILED');
    await expectCode(call('GET', `${s}?from=yesterday`, { token }), 400, 'VALIDATION_FAILED');
    await expectCode(call('GET', `${s}?from=2026-13-45`, { token }), 400, 'VALIDATION_FAILED');
    await expectCode(call('GET', `${s}?bogus=1`, { token }), 400, 'VALIDATION_FAILED');
    await expectCode(call('GET', s), 401, 'UNAUTHORIZED');
    const ok = await call<{ entries: unknown[] }>('GET', `${s}?type=deposit`, { token });
    expect(ok.status).toBe(200);
    expect(ok.body.entries).toHaveLength(1);
  });

  it('refuses bad PIN changes and limits', async () => {
    const before = await snapshot();
    const pinUrl = `${url}/v1/wallet/pin`;
    await expectCode(
      call('POST', pinUrl, { token, body: { old: '1234', new: '4321' } }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(call('POST', pinUrl, { token, body: {} }), 400, 'VALIDATION_FAILED');
    const signed = (p: Record<string, unknown>) => wallet.action('pin.change', '1234', p);
    await expectCode(
      call('POST', pinUrl, { token, body: { action: await signed({}) } }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', pinUrl, { token, body: { action: await signed({ new: await wallet.sealPin('12') }) } }),
      400,
      'PIN_FORMAT',
    );
    await expectCode(
      call('POST', pinUrl, { token, body: { action: await signed({ new: await wallet.sealPin('1234') }) } }),
      400,
      'VALIDATION_FAILED',
    );
    const l = `${url}/v1/wallet/limits`;
    const lim = async (p: Record<string, unknown>) => ({
      token,
      body: { action: await wallet.action('limits.set', '1234', p) },
    });
    await expectCode(call('PUT', l, { token, body: { daily: '100' } }), 400, 'VALIDATION_FAILED');
    await expectCode(call('PUT', l, await lim({})), 400, 'VALIDATION_FAILED');
    await expectCode(call('PUT', l, await lim({ perTransaction: '-5' })), 400, 'VALIDATION_FAILED');
    await expectCode(call('PUT', l, await lim({ daily: 100 })), 400, 'VALIDATION_FAILED');
    await expectCode(call('PUT', l, await lim({ monthly: '100' })), 400, 'VALIDATION_FAILED');
    await expectCode(call('PUT', l, { body: { daily: '100' } }), 401, 'UNAUTHORIZED');
    expect(await snapshot()).toBe(before);
  });

  it('refuses own limits above the tier and deposits beyond the maximum balance', async () => {
    const t = await call('POST', `${url}/v1/admin/customers/${customerId}/tier`, {
      token: admin,
      body: { kind: 'emoney', tier: 0 },
    });
    expect(t.status).toBe(200);
    const before = await snapshot();
    await expectCode(
      call('PUT', `${url}/v1/wallet/limits`, {
        token,
        body: { action: await wallet.action('limits.set', '1234', { perTransaction: '5001' }) },
      }),
      422,
      'LIMIT_ABOVE_TIER',
    );
    // Tier 0: maximum balance 150.00; the balance is 40.00.
    await expectCode(
      call('POST', `${url}/v1/admin/customers/${customerId}/deposits`, {
        token: admin,
        body: { amount: '11001' },
      }),
      422,
      'LIMIT_EXCEEDED',
    );
    expect(await snapshot()).toBe(before);
  });

  it('blocks devices only for the operator, and the blocked token stops working', async () => {
    const b = `${url}/v1/admin/customers/${customerId}/block-devices`;
    await expectCode(call('POST', b), 401, 'UNAUTHORIZED');
    await expectCode(
      call('POST', `${url}/v1/admin/customers/nope/block-devices`, { token: admin }),
      400,
      'VALIDATION_FAILED',
    );
    const r = await call<{ blocked: string[] }>('POST', b, { token: admin });
    expect(r.status).toBe(200);
    expect(r.body.blocked).toHaveLength(1);
    await expectCode(call('GET', `${url}/v1/wallet/statement`, { token }), 403, 'DEVICE_BLOCKED');
    await expectCode(
      call('POST', `${url}/v1/wallet/devices/new-activation`, {
        token,
        body: { action: await wallet.action('device.new-activation', '1234') },
      }),
      403,
      'DEVICE_BLOCKED',
    );
  });
});

/** Limits hold under concurrency: payments checked at the same moment never pay beyond a limit together. */
describe('prepaid limits under concurrency', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  beforeAll(async () => {
    env = await freshNetwork();
  }, 60_000);
  afterAll(async () => env?.close());

  it('never pays beyond the daily limit when payments race', async () => {
    const { ctx } = env;
    const p = env.net.processors.get('mno-b')!;
    const phone = `+43670${String(Date.now() % 1e7).padStart(7, '0')}`;
    const created = await call<{ customerId: string; activationCode: string }>(
      'POST',
      `${p.url}/v1/admin/customers`,
      { token: p.admin.token, body: { phone, name: 'Race Payer', currency: 'EUR', kind: 'emoney', tier: 1 } },
    );
    expect(created.status).toBe(201);
    await p.admin.deposit(created.body.customerId, 450_00n);
    const wallet = await Wallet.enrol(p.url, phone, created.body.activationCode, '1234');
    const m = await ctx.merchant('bank-a', 'Race Shop');
    const reqs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        m.client.createRequest({
          currency: 'EUR',
          amount: { value: '9000', currency: 'EUR' },
          reference: `r${i}`,
        }),
      ),
    );
    const results = await Promise.allSettled(reqs.map((r) => wallet.pay(r.qr, '1234')));
    const completed = results.filter((r) => r.status === 'fulfilled' && r.value.status === 'COMPLETED');
    // Tier 1 daily limit 200.00: at most two payments of 90.00.
    expect(completed.length).toBeLessThanOrEqual(2);
    expect(completed.length).toBeGreaterThanOrEqual(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('LIMIT_EXCEEDED');
    }
    await expectConserved(ctx);
    expect(await wallet.balance()).toBe(450_00n - BigInt(completed.length) * 90_00n);
  });

  it('tops up a voucher once when two redemptions race', async () => {
    const { ctx } = env;
    const p = env.net.processors.get('mno-b')!;
    const a = await ctx.customer('mno-b', 0n);
    const b = await ctx.customer('mno-b', 0n);
    const v = await call<{ codes: string[] }>('POST', `${p.url}/v1/admin/vouchers`, {
      token: p.admin.token,
      body: { amount: '1000', count: 1 },
    });
    expect(v.status).toBe(201);
    const code = v.body.codes[0]!;
    const rs = await Promise.all(
      [a, b, a, b].map((c) =>
        call('POST', `${p.url}/v1/wallet/topup`, { token: c.wallet.accessToken, body: { code } }),
      ),
    );
    const total = (await a.wallet.balance()) + (await b.wallet.balance());
    expect(total).toBe(10_00n);
    expect(rs.filter((r) => r.status === 409).length).toBeGreaterThanOrEqual(2);
    expect(await ctx.conservation()).toBeUndefined();
  });
});
