import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '@semops/cli';
import { expectCode, freshNetwork } from './helpers.js';

/**
 * A till (POS, gate scanner) holds a till key, never the merchant's secret key: someone who takes the till's
 * key can ask for payments and see them, and cannot refund, move money or make more keys.
 */
describe("a merchant's till keys (rk_)", () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let url: string;

  beforeAll(async () => {
    env = await freshNetwork();
    url = env.net.processors.get('mno-b')!.url;
  }, 60_000);
  afterAll(async () => env?.close());

  const as = (token: string) => ({
    post: <T>(path: string, body: unknown = {}) => call<T>('POST', `${url}${path}`, { token, body }),
    get: <T>(path: string) => call<T>('GET', `${url}${path}`, { token }),
  });

  it('asks for and reads payments, nothing more; the merchant revokes it', async () => {
    const m = await env.ctx.merchant('mno-b', 'Corner Café');
    const owner = as(m.apiKey);
    const made = await owner.post<{ keyId: string; key: string; label: string }>('/v1/merchant/keys', {
      label: 'Till 1',
    });
    expect(made.status).toBe(201);
    expect(made.body.key).toMatch(/^rk_/);
    const till = as(made.body.key);

    // What a till does: a request, its status, a ticket for its events, today's payments.
    const req = await till.post<{ id: string; qr: string }>('/v1/requests', {
      currency: 'EUR',
      amount: { value: '450', currency: 'EUR' },
      reference: 'table 4',
    });
    expect(req.status).toBe(201);
    const c = await env.ctx.customer('bank-a', 20_00n);
    expect((await c.wallet.pay(req.body.qr, '1234')).status).toBe('COMPLETED');
    await expect
      .poll(async () => (await till.get<{ status: string }>(`/v1/requests/${req.body.id}`)).body.status)
      .toBe('PAID');
    expect((await till.post(`/v1/requests/${req.body.id}/events/ticket`)).status).toBe(200);
    const paid = await till.get<{ payments: Array<{ paymentId: string }> }>('/v1/merchant/payments');
    expect(paid.status).toBe(200);
    const paymentId = paid.body.payments[0]!.paymentId;

    // What it cannot: refund, see refunds, manage keys.
    await expectCode(till.post(`/v1/payments/${paymentId}/refunds`, {}), 403, 'FORBIDDEN');
    await expectCode(till.get(`/v1/payments/${paymentId}/refunds`), 403, 'FORBIDDEN');
    await expectCode(till.post('/v1/merchant/keys', { label: 'mine now' }), 403, 'FORBIDDEN');
    await expectCode(till.get('/v1/merchant/keys'), 403, 'FORBIDDEN');
    // The refused refund moved nothing.
    expect(await env.ctx.merchantBalance(m)).toBe(450n);

    // Listed without the key; revoked, it stops at once.
    const listed = await owner.get<{ keys: Array<{ keyId: string; label: string; key?: string }> }>(
      '/v1/merchant/keys',
    );
    expect(listed.body.keys).toEqual([expect.objectContaining({ keyId: made.body.keyId, label: 'Till 1' })]);
    expect(listed.body.keys[0]).not.toHaveProperty('key');
    const revoked = await owner.post<{ revokedAt?: number }>(`/v1/merchant/keys/${made.body.keyId}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBeGreaterThan(0);
    await expectCode(till.get(`/v1/requests/${req.body.id}`), 401, 'UNAUTHORIZED');

    // Another merchant neither sees nor revokes this merchant's keys.
    const other = as((await env.ctx.merchant('mno-b', 'Other Shop')).apiKey);
    expect((await other.get<{ keys: unknown[] }>('/v1/merchant/keys')).body.keys).toEqual([]);
    await expectCode(other.post(`/v1/merchant/keys/${made.body.keyId}/revoke`), 404, 'NOT_FOUND');
    await expectCode(owner.post('/v1/merchant/keys', { label: '' }), 400, 'VALIDATION_FAILED');
  });
});
