import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, codeOf } from '@semops/cli';
import { expectConserved, expectPayerOnlyAtOwnProcessor, freshNetwork } from './helpers.js';

const eur = (value: bigint) => ({ value: value.toString(), currency: 'EUR' });

describe('P2P, request money and refunds: bad paths', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  beforeAll(async () => {
    env = await freshNetwork();
  });
  afterAll(async () => env?.close());

  it('refuses an unknown phone number or address with ALIAS_NOT_FOUND, and sending to oneself', async () => {
    const { ctx } = env;
    const c = await ctx.customer('bank-a', 10_00n);
    expect(await codeOf(c.wallet.p2pResolve('+43999000111222'))).toBe('ALIAS_NOT_FOUND');
    expect(await codeOf(c.wallet.p2pResolve('nobody@mno-b'))).toBe('ALIAS_NOT_FOUND');
    expect(await codeOf(c.wallet.requestMoney('+43999000111222', eur(1_00n)))).toBe('ALIAS_NOT_FOUND');
    expect(await codeOf(c.wallet.p2pResolve(c.phone))).toBe('VALIDATION_FAILED');
    const { address } = await c.wallet.setAlias('selfie');
    expect(await codeOf(c.wallet.p2pResolve(address))).toBe('VALIDATION_FAILED');
    expect(await codeOf(c.wallet.requestMoney(c.phone, eur(1_00n)))).toBe('VALIDATION_FAILED');
    // Malformed input: a clear 400 with a stable code.
    const bad = await call('POST', `${c.wallet.url}/v1/wallet/p2p/resolve`, {
      token: c.wallet.accessToken,
      body: { to: 'not a phone' },
    });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
    expect(await codeOf(c.wallet.requestMoney('nobody@mno-b', { value: '100', currency: 'USD' }))).toBe(
      'CURRENCY_MISMATCH',
    );
    expect(await c.wallet.balance()).toBe(10_00n);
  });

  it('refuses refunds beyond the paid amount and of payments the merchant did not receive', async () => {
    const { ctx } = env;
    const c = await ctx.customer('bank-a', 30_00n);
    const m = await ctx.merchant('mno-b', 'Shop One');
    const other = await ctx.merchant('mno-b', 'Shop Two');
    const req = await m.client.createRequest({ currency: 'EUR', amount: eur(10_00n), reference: 'x' });
    const paid = await c.wallet.pay(req.qr, '1234');
    expect(paid.status).toBe('COMPLETED');
    // The merchant's processor commits when the hub's notification arrives.
    await expect.poll(async () => (await m.client.request(req.id)).status, { timeout: 5000 }).toBe('PAID');
    expect(await codeOf(m.client.refund(paid.paymentId, eur(10_01n)))).toBe('REFUND_EXCEEDS_PAYMENT');
    expect(await codeOf(other.client.refund(paid.paymentId))).toBe('PAYMENT_NOT_FOUND');
    expect(await codeOf(other.client.refunds(paid.paymentId))).toBe('PAYMENT_NOT_FOUND');
    // The customer's own processor does not know the payment as a merchant's either.
    const local = await ctx.merchant('bank-a');
    expect(await codeOf(local.client.refund(paid.paymentId))).toBe('PAYMENT_NOT_FOUND');
    const r = await call('POST', `${m.client.url}/v1/payments/${paid.paymentId}/refunds`, {
      token: m.client.apiKey,
      body: { amount: { value: '-5', currency: 'EUR' } },
    });
    expect(r.status).toBe(400);
    expect(await c.wallet.balance()).toBe(20_00n);
    const partial = await m.client.refund(paid.paymentId, eur(4_00n));
    expect(partial.status).toBe('COMPLETED');
    expect(await codeOf(m.client.refund(paid.paymentId, eur(6_01n)))).toBe('REFUND_EXCEEDS_PAYMENT');
    const rest = await m.client.refund(paid.paymentId);
    expect(rest).toMatchObject({ status: 'COMPLETED', amount: eur(6_00n), paymentId: paid.paymentId });
    await expect.poll(() => c.wallet.balance(), { timeout: 5000 }).toBe(30_00n);
  });

  it('a declined request for money can no longer be paid', async () => {
    const { ctx } = env;
    const requester = await ctx.customer('mno-b', 0n, 'Rhea Requester');
    const payer = await ctx.customer('bank-a', 10_00n);
    // A new customer's blinded phone number reaches the hub directory within a sync interval (2 s).
    await vi.waitFor(() => requester.wallet.requestMoney(payer.phone, eur(2_00n), 'taxi'), {
      timeout: 8000,
      interval: 200,
    });
    const [item] = await payer.wallet.inbox();
    expect(item).toMatchObject({ status: 'OPEN', from: 'Rhea R.', amount: eur(2_00n), note: 'taxi' });
    const notes = await payer.wallet.notifications();
    expect(notes[0]?.kind).toBe('request.received');
    const r = await payer.wallet.resolve(item!.code);
    expect((await payer.wallet.decline(item!.id)).status).toBe('DECLINED');
    expect(await codeOf(payer.wallet.submit(await payer.wallet.approval(r, '1234')))).toBe(
      'REQUEST_CANCELLED',
    );
    expect(await codeOf(payer.wallet.pay(item!.code, '1234'))).toBe('REQUEST_CANCELLED');
    expect(await payer.wallet.balance()).toBe(10_00n);
    expect(await codeOf(payer.wallet.decline('inb_00000000000000000000000000'))).toBe('REQUEST_NOT_FOUND');
  });

  it('money is conserved and a P2P payer leaves no trace at the hub or the payee processor', async () => {
    const { ctx } = env;
    const payer = await ctx.customer('bank-a', 10_00n, 'Quirinus Zebulon');
    const payee = await ctx.customer('mno-b', 0n, 'Ida Payee');
    const shown = await vi.waitFor(() => payer.wallet.p2pResolve(payee.phone), {
      timeout: 8000,
      interval: 200,
    });
    expect(shown).toMatchObject({ kind: 'p2p', merchant: { name: 'Ida P.', category: '4829' } });
    const paid = await payer.wallet.submit(
      await payer.wallet.approval(shown, '1234', { amount: eur(3_00n) }),
    );
    expect(paid.status).toBe('COMPLETED');
    await expectConserved(ctx);
    await env.net.stop();
    expectPayerOnlyAtOwnProcessor(env.dir, payer);
  });
});
