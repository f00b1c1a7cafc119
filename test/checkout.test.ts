/**
 * Web checkout end to end on a fresh network of real processes: the merchant SDK against a real processor,
 * and the example shop (packages/cli/src/shop) whose orders turn paid only by a verified webhook.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode } from '@semops/protocol';
import {
  SemopsApiError,
  SemopsMerchant,
  amount,
  signWebhook,
  type PaymentRequest,
} from '@semops/merchant-sdk';
import { DEFAULT_PRODUCTS, startShop, type Shop } from '@semops/cli/shop';
import { freshNetwork } from './helpers.js';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const a = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  return typeof a === 'object' && a ? a.port : 0;
}

async function apiError(p: Promise<unknown>): Promise<SemopsApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SemopsApiError) return e;
    throw e;
  }
  throw new Error('expected a SemopsApiError');
}

interface CheckoutAnswer {
  id: string;
  requestId: string;
  qr: string;
  qrSvg: string;
  deepLink: string;
  shortCode: string;
  statusUrl: string;
  cancelUrl: string;
  display: string;
  expiresAt: number;
}
interface OrderView {
  id: string;
  status: string;
  paymentId?: string;
}

describe('web checkout', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let semops: SemopsMerchant;
  let shop: Shop;
  let webhookSecret = '';
  const shopLog: string[] = [];

  async function post<T>(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(shop.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }
  async function order(id: string): Promise<OrderView> {
    return (await fetch(`${shop.url}/api/orders/${id}`).then((r) => r.json())) as OrderView;
  }
  /** What the button sends: the product and the price it shows. */
  const checkout = (product = 'handbook') =>
    post<CheckoutAnswer>('/api/checkout', {
      product,
      amount: DEFAULT_PRODUCTS.find((p) => p.id === product)?.price,
      currency: 'EUR',
    });

  beforeAll(async () => {
    env = await freshNetwork();
    const port = await freePort();
    const m = await env.ctx.merchant('bank-a', 'Bookshop Online', `http://127.0.0.1:${port}/webhooks/semops`);
    webhookSecret = m.webhookSecret;
    semops = new SemopsMerchant({ baseUrl: env.ctx.processor('bank-a').url, apiKey: m.apiKey });
    shop = await startShop({ merchant: semops, webhookSecret, port, log: (l) => shopLog.push(l) });
  });
  afterAll(async () => {
    await shop?.close();
    await env?.close();
  });

  describe('merchant SDK against a processor', () => {
    it('creates, reads and idempotently repeats a request', async () => {
      const input = { amount: amount('3.20', 'EUR'), reference: 'sdk-1', description: 'Coffee' };
      const r = await semops.createRequest(input, { idempotencyKey: 'sdk-1' });
      expect(r).toMatchObject({
        status: 'OPEN',
        currency: 'EUR',
        amount: { value: '320', currency: 'EUR' },
        reference: 'sdk-1',
      });
      expect(r.shortCode).toMatch(/^101\d{7}$/);
      expect(r.deepLink).toBe(`semops://pay?p=bank-a&r=${r.id}`);
      expect((await semops.createRequest(input, { idempotencyKey: 'sdk-1' })).id).toBe(r.id);
      const conflict = await apiError(
        semops.createRequest({ ...input, reference: 'sdk-2' }, { idempotencyKey: 'sdk-1' }),
      );
      expect(conflict).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', status: 409 });
      expect((await semops.getRequest(r.id)).status).toBe('OPEN');
    });

    it('surfaces the server errors as typed errors', async () => {
      const invalid = await apiError(semops.createRequest({ amount: amount('1', 'EUR'), reference: ' ' }));
      expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(invalid.details).toBeTruthy();
      const unknown = await apiError(semops.getRequest('req_00000000000000000000000000'));
      expect(unknown.status).toBe(404);
      expect(isErrorCode(unknown.code)).toBe(true);
      const stranger = new SemopsMerchant({ baseUrl: semops.baseUrl, apiKey: 'sk_not_a_key_123' });
      expect(await apiError(stranger.payments())).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    });

    it('cancels a request so that it can no longer be paid', async () => {
      const c = await env.ctx.customer('bank-a', 10_00n);
      const r = await semops.createRequest({ amount: amount('1.00', 'EUR'), reference: 'sdk-cancel' });
      expect((await semops.cancelRequest(r.id)).status).toBe('CANCELLED');
      await expect(c.wallet.pay(r.shortCode, '1234')).rejects.toMatchObject({ code: 'REQUEST_CANCELLED' });
      expect(await c.wallet.balance()).toBe(10_00n);
    });

    it('waits for completion, lists the payment, and reports refunds honestly', async () => {
      const c = await env.ctx.customer('mno-b', 50_00n);
      const r = await semops.createRequest({ amount: amount('4.20', 'EUR'), reference: 'sdk-wait' });
      const seen: string[] = [];
      const waiting = semops.waitForCompletion(r.id, {
        timeoutMs: 15_000,
        onStatus: (x) => seen.push(x.status),
      });
      // The stream is open (and reports OPEN) before the payment, so the change is observed live.
      await expect.poll(() => seen.length).toBeGreaterThan(0);
      const paid = await c.wallet.pay(r.qr, '1234');
      expect(paid.status).toBe('COMPLETED');
      const done: PaymentRequest = await waiting;
      expect(done.status).toBe('PAID');
      expect(seen[0]).toBe('OPEN');
      expect(done.payments[0]).toMatchObject({ paymentId: paid.paymentId, status: 'COMPLETED' });
      const payments = await semops.payments();
      expect(payments.map((p) => p.paymentId)).toContain(paid.paymentId);

      // Refunds arrive with the use-case work; until then the server's refusal must come through typed,
      // never a made-up success.
      const outcome = await semops.refund(paid.paymentId, amount('1.00', 'EUR')).then(
        (refund) => ({ refund }),
        (error: unknown) => ({ error }),
      );
      if ('error' in outcome) {
        expect(outcome.error).toBeInstanceOf(SemopsApiError);
        const e = outcome.error as SemopsApiError;
        expect(e.status).toBeGreaterThanOrEqual(400);
        expect(isErrorCode(e.code)).toBe(true);
      } else {
        expect(outcome.refund).toMatchObject({ paymentId: paid.paymentId, amount: { value: '100' } });
      }
    });
  });

  describe('example shop', () => {
    it('sells a book: checkout, customer pays in the wallet, the signed webhook marks the order paid', async () => {
      const res = await checkout();
      expect(res.status).toBe(201);
      const co = res.body;
      expect(co.qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
      expect(co.shortCode).toMatch(/^\d{10}$/);
      expect(co.deepLink).toMatch(/^semops:\/\/pay\?/);
      expect(co.display).toBe('12.50 EUR');
      expect(co.statusUrl).toBe(`/api/orders/${co.id}/status`);

      // The button follows the order by server-sent events from the shop.
      const stream = await fetch(shop.url + co.statusUrl, { headers: { accept: 'text/event-stream' } });
      expect(stream.headers.get('content-type')).toContain('text/event-stream');
      const statuses: string[] = [];
      const reading = (async () => {
        const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
        let text = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += value;
          let i: number;
          while ((i = text.indexOf('\n\n')) >= 0) {
            const data = /^data: (.*)$/m.exec(text.slice(0, i));
            if (data) statuses.push((JSON.parse(data[1]!) as OrderView).status);
            text = text.slice(i + 2);
          }
        }
      })();

      const anna = await env.ctx.customer('mno-b', 100_00n, 'Anna Berger');
      const paid = await anna.wallet.pay(co.shortCode, '1234');
      expect(paid.status).toBe('COMPLETED');

      await expect
        .poll(() => order(co.id), { timeout: 10_000 })
        .toMatchObject({ status: 'PAID', paymentId: paid.paymentId });
      await reading; // the shop ends the stream once the order is final
      expect(statuses[0]).toBe('PENDING');
      expect(statuses.at(-1)).toBe('PAID');
      expect(shopLog.some((l) => l.includes(`order ${co.id} paid (${paid.paymentId}, webhook evt_`))).toBe(
        true,
      );
      expect(shopLog.filter((l) => l.includes('refused'))).toEqual([]);
      expect(await anna.wallet.balance()).toBe(100_00n - 12_50n);
      // The shop never learns who paid.
      expect(JSON.stringify(await fetch(`${shop.url}/api/orders`).then((r) => r.json()))).not.toContain(
        anna.phone,
      );
    });

    it('refuses forged, tampered, stale and unsigned webhooks; the order stays unpaid until really paid', async () => {
      const co = (await checkout('paybill')).body;
      const event = (value: string) =>
        JSON.stringify({
          id: `evt_forged_${value}`,
          type: 'payment.completed',
          createdAt: Date.now(),
          data: {
            paymentId: 'pay_00000000000000000000000000',
            requestId: co.requestId,
            amount: { value, currency: 'EUR' },
            reference: co.id,
          },
        });
      const hook = (body: string, signature?: string) =>
        post<{ error?: { code: string } }>(
          '/webhooks/semops',
          body,
          signature === undefined ? {} : { 'semops-signature': signature },
        );

      const forged = await hook(event('780'), await signWebhook(event('780'), 'whsec_guessed', Date.now()));
      expect(forged).toMatchObject({ status: 401, body: { error: { code: 'SIGNATURE_INVALID' } } });
      const signed = await signWebhook(event('1'), webhookSecret, Date.now());
      expect((await hook(event('780'), signed)).status).toBe(401); // signed body, amount changed after
      const stale = await signWebhook(event('780'), webhookSecret, Date.now() - 10 * 60_000);
      expect((await hook(event('780'), stale)).status).toBe(401);
      expect((await hook(event('780'))).status).toBe(401);
      expect((await hook(event('780'), 'v1=abc')).status).toBe(401);
      expect(shopLog.filter((l) => l.includes('refused a webhook'))).toHaveLength(5);
      expect((await order(co.id)).status).toBe('PENDING');

      const ben = await env.ctx.customer('bank-a', 20_00n);
      const paid = await ben.wallet.pay(co.qr, '1234');
      expect(paid.status).toBe('COMPLETED');
      await expect
        .poll(() => order(co.id), { timeout: 10_000 })
        .toMatchObject({ status: 'PAID', paymentId: paid.paymentId });
    });

    it('charges the server price, cancels on request, and relays the processor on refunds', async () => {
      const stale = await post<{ error: { code: string } }>('/api/checkout', {
        product: 'handbook',
        amount: '1.00',
      });
      expect(stale).toMatchObject({ status: 409, body: { error: { code: 'PRICE_CHANGED' } } });
      expect((await post('/api/checkout', { product: 'nope' })).status).toBe(400);
      expect((await post('/api/checkout', '{oops')).status).toBe(400);

      const co = (await checkout('ledger')).body;
      const cancelled = await post<OrderView>(co.cancelUrl, {});
      expect(cancelled.body.status).toBe('CANCELLED');
      expect((await semops.getRequest(co.requestId)).status).toBe('CANCELLED');
      const clara = await env.ctx.customer('bank-a', 50_00n);
      await expect(clara.wallet.pay(co.shortCode, '1234')).rejects.toMatchObject({
        code: 'REQUEST_CANCELLED',
      });

      const paidOrder = shop.orders.list().find((o) => o.status === 'PAID')!;
      const refund = await post<{ error?: { code: string } }>(`/api/orders/${paidOrder.id}/refund`, {});
      if (refund.status !== 201) {
        expect(refund.status).toBe(502);
        expect(isErrorCode(refund.body.error?.code)).toBe(true);
      }
    });
  });
});
