import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FxQuoteView } from '../fx/service.js';
import { startTestNode, type TestCustomer, type TestNode } from '../channels/testing.js';

// One processor holding HUF customers and EUR merchants: the payment never leaves it, the conversion is
// the same as through the hub.
let t: TestNode;
let shop: { apiKey: string };
beforeAll(async () => {
  t = await startTestNode({
    fx: {
      rates: [{ base: 'EUR', quote: 'HUF', rate: '392.45' }],
      spreadBps: 50,
      feeFixed: { HUF: '10000' },
      quoteTtlMs: 30_000,
    },
  });
  shop = await t.merchant('Café Central');
});
afterAll(async () => {
  await t.close();
});

interface Resolved {
  requestId: string;
  processorId: string;
  fee: { value: string; currency: string };
  quote?: FxQuoteView;
}
interface PaymentBody {
  paymentId: string;
  status: string;
  charged: { value: string; currency: string };
  fx?: { quoteId: string; rate: string; fee: { value: string; currency: string } };
}
interface ErrorBody {
  error: { code: string; message: string; details?: { quote?: FxQuoteView; stored?: FxQuoteView } };
}

const eur = (v: bigint) => ({ value: v.toString(), currency: 'EUR' });

async function resolve(c: TestCustomer, body: Record<string, unknown>) {
  const req = await t.request(shop.apiKey, body);
  const r = await t.call<Resolved>('POST', '/v1/wallet/resolve', {
    token: c.token,
    body: { code: req.shortCode },
  });
  expect(r.status).toBe(200);
  return { req, r: r.body };
}

const submit = async <T = PaymentBody>(c: TestCustomer, approval: string) =>
  t.call<T>('POST', '/v1/wallet/payments', { token: c.token, body: { approval } });

describe('wallet: paying a request in another currency', () => {
  it('shows the quote at resolve and pays exactly the quoted total with the quote id', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const { req, r } = await resolve(c, { amount: eur(10_00n) });
    expect(r.fee).toEqual({ value: '10000', currency: 'HUF' });
    expect(r.quote).toMatchObject({
      amount: eur(10_00n),
      converted: { value: '394413', currency: 'HUF' },
      fee: { value: '10000', currency: 'HUF' },
      total: { value: '404413', currency: 'HUF' },
      rate: '1 EUR = 394.412250 HUF',
    });
    const q = r.quote!;
    const got = await t.call<FxQuoteView>('GET', `/v1/wallet/quotes/${q.quoteId}`, { token: c.token });
    expect(got.body).toEqual(q);

    const p = await submit(c, await c.approval(r, eur(10_00n), '1234', q.quoteId));
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({
      status: 'COMPLETED',
      charged: { value: '404413', currency: 'HUF' },
      fx: { quoteId: q.quoteId, rate: '1 EUR = 394.412250 HUF', fee: { value: '10000', currency: 'HUF' } },
    });
    expect(await t.balance(c.id)).toBe(100_000_00n - 404413n);
    expect(await t.requestStatus(shop.apiKey, req.id)).toBe('PAID');
    // In the books: HUF from the customer to fx/fxmargin/fees, EUR from fx to the merchant via settlement.
    const l = await t.call<{ byKind: Array<{ kind: string; currency: string; balance: string }> }>(
      'GET',
      '/v1/admin/ledger',
      { token: t.node.adminToken },
    );
    const bal = (kind: string, cur: string) =>
      l.body.byKind.find((x) => x.kind === kind && x.currency === cur)?.balance ?? '0';
    expect([bal('fx', 'HUF'), bal('fxmargin', 'HUF'), bal('fees', 'HUF')]).toEqual([
      '392450',
      '1963',
      '10000',
    ]);
    expect([bal('fx', 'EUR'), bal('settlement', 'EUR'), bal('merchant', 'EUR')]).toEqual([
      '-1000',
      '0',
      '1000',
    ]);

    // The same quote pays once.
    const again = await submit<ErrorBody>(c, await c.approval(r, eur(10_00n), '1234', q.quoteId));
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('QUOTE_EXPIRED');
  });

  it('refuses an approval without the quote, or with a quote for another amount', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const { r } = await resolve(c, { minAmount: eur(1_00n), maxAmount: eur(50_00n), reusable: true });
    expect(r.quote).toBeUndefined();

    const none = await submit<ErrorBody>(c, await c.approval(r, eur(12_00n), '1234'));
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('QUOTE_NOT_FOUND');
    expect(none.body.error.details?.quote?.amount).toEqual(eur(12_00n));

    const q = await t.call<FxQuoteView>('POST', '/v1/wallet/quotes', {
      token: c.token,
      body: { requestId: r.requestId, amount: eur(12_00n) },
    });
    expect(q.status).toBe(201);
    expect(q.body.total).toEqual({ value: '483295', currency: 'HUF' });
    const other = await submit<ErrorBody>(c, await c.approval(r, eur(15_00n), '1234', q.body.quoteId));
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('QUOTE_MISMATCH');
    expect(other.body.error.details?.stored?.quoteId).toBe(q.body.quoteId);
    expect(await t.balance(c.id)).toBe(100_000_00n);

    const stranger = await t.customer(100_000_00n, '1234', 'HUF');
    const foreign = await submit<ErrorBody>(
      stranger,
      await stranger.approval(r, eur(12_00n), '1234', q.body.quoteId),
    );
    expect(foreign.body.error.code).toBe('RESOLVE_FIRST');

    expect(
      (await t.call('POST', '/v1/wallet/quotes', { body: { requestId: r.requestId, amount: eur(1_00n) } }))
        .status,
    ).toBe(401);
    const bad = await t.call<ErrorBody>('POST', '/v1/wallet/quotes', {
      token: c.token,
      body: { requestId: r.requestId, amount: { value: '12.00', currency: 'EUR' } },
    });
    expect(bad.status).toBe(400);

    const ok = await submit(c, await c.approval(r, eur(12_00n), '1234', q.body.quoteId));
    expect(ok.body).toMatchObject({ status: 'COMPLETED', charged: { value: '483295', currency: 'HUF' } });
  });

  it('refuses an expired quote with the new quote, takes nothing, and pays at the new one', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const { r } = await resolve(c, { amount: eur(20_00n) });
    t.advance(31_000);
    const late = await submit<ErrorBody>(c, await c.approval(r, eur(20_00n), '1234', r.quote!.quoteId));
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('QUOTE_EXPIRED');
    const fresh = late.body.error.details!.quote!;
    expect(late.body.error.details!.stored!.quoteId).toBe(r.quote!.quoteId);
    expect(fresh.quoteId).not.toBe(r.quote!.quoteId);
    expect(fresh.total).toEqual({ value: '798825', currency: 'HUF' });
    expect(await t.balance(c.id)).toBe(100_000_00n);

    const p = await submit(c, await c.approval(r, eur(20_00n), '1234', fresh.quoteId));
    expect(p.body).toMatchObject({ status: 'COMPLETED', charged: fresh.total });
  });

  it('gives the same unused quote when the wallet resolves or asks again, instead of piling up quotes', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const { req, r } = await resolve(c, { amount: eur(7_00n) });
    const again = await t.call<Resolved>('POST', '/v1/wallet/resolve', {
      token: c.token,
      body: { code: req.shortCode },
    });
    expect(again.body.quote?.quoteId).toBe(r.quote!.quoteId);
    const asked = await t.call<FxQuoteView>('POST', '/v1/wallet/quotes', {
      token: c.token,
      body: { requestId: r.requestId, amount: eur(7_00n) },
    });
    expect(asked.status).toBe(201);
    expect(asked.body).toEqual(r.quote);

    const open = await resolve(c, { minAmount: eur(1_00n), maxAmount: eur(50_00n), reusable: true });
    const ask = () =>
      t.call<FxQuoteView>('POST', '/v1/wallet/quotes', {
        token: c.token,
        body: { requestId: open.r.requestId, amount: eur(3_00n) },
      });
    const q1 = (await ask()).body;
    expect((await ask()).body.quoteId).toBe(q1.quoteId);
    const q3 = await t.call<FxQuoteView>('POST', '/v1/wallet/quotes', {
      token: c.token,
      body: { requestId: open.r.requestId, amount: eur(4_00n) },
    });
    expect(q3.body.quoteId).not.toBe(q1.quoteId);
  });

  it('answers RATE_NOT_AVAILABLE at resolve when no rate joins the currencies', async () => {
    const c = await t.customer(10_000n, '1234', 'JPY');
    const req = await t.request(shop.apiKey, { amount: eur(1_00n) });
    const r = await t.call<ErrorBody>('POST', '/v1/wallet/resolve', {
      token: c.token,
      body: { code: req.shortCode },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('RATE_NOT_AVAILABLE');
  });
});
