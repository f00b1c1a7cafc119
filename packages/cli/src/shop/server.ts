/**
 * The example web shop: a small Fastify server (the nodes' HTTP edge, from @semops/node) that sells books
 * with the SEMOPS checkout button. It shows what a merchant backend does with @semops/merchant-sdk:
 *
 * - `POST /api/checkout` prices the basket on the server (never trusting the browser), creates a payment
 *   request with the order id as reference and idempotency key, and returns the QR (as SVG), deep link and
 *   short code for the button's dialog;
 * - `POST /webhooks/semops` verifies the signed webhook and marks the order paid — the only way an order
 *   becomes paid; events are deduplicated by id;
 * - `GET /api/orders/:id/status` streams the order's status to the button (server-sent events, or JSON).
 *
 * Failures are `{ error: { code, message } }` with the status of the code in @semops/protocol's error table;
 * when the processor refused or could not be reached, its code with status 502. Orders live in memory: this
 * is a demo.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { z } from 'zod';
import {
  CHECKOUT_SCRIPT_URL,
  SemopsApiError,
  WebhookSignatureError,
  amount as money,
  formatMoney,
  isPaymentCompleted,
  sameMoney,
  verifyWebhook,
  type Money,
  type SemopsMerchant,
} from '@semops/merchant-sdk';
import { createServer, parse } from '@semops/node';
import { SemopsError } from '@semops/protocol';
import { listenLoopback, type LoopbackHost } from '../edge.js';
import { createOrderBook, type Order, type OrderBook } from './orders.js';
import { PAGE_CSS, PAGE_SCRIPT, renderPage } from './page.js';

export interface Product {
  readonly id: string;
  readonly title: string;
  readonly author: string;
  /** Major units, e.g. '12.50'. */
  readonly price: string;
}

export const DEFAULT_PRODUCTS: readonly Product[] = [
  { id: 'handbook', title: 'The Credit-Push Handbook', author: 'M. Hofer', price: '12.50' },
  { id: 'paybill', title: 'A Short History of the Paybill', author: 'W. Otieno', price: '7.80' },
  { id: 'ledger', title: 'Double Entry for Everyone', author: 'L. Pacioli', price: '24.90' },
];

export interface ShopOptions {
  /** The SDK client with the shop's merchant API key. */
  readonly merchant: SemopsMerchant;
  /** The webhook secret the processor gave with the API key. */
  readonly webhookSecret: string;
  readonly name?: string;
  readonly currency?: string;
  readonly products?: readonly Product[];
  /** Port to listen on (0 = any free port); default 0. */
  readonly port?: number;
  /** A loopback address; default 127.0.0.1. */
  readonly host?: LoopbackHost;
  /**
   * Web wallets to offer in the checkout dialog, linked with `?code=<payment code>` (the demo lists each
   * processor's wallet page; a real shop cannot know its customers' processors and leaves this out).
   */
  readonly walletLinks?: ReadonlyArray<{ readonly name: string; readonly url: string }>;
  /** How long a checkout may take before its request expires; default 600 s. */
  readonly checkoutSeconds?: number;
  readonly log?: (line: string) => void;
}

export interface Shop {
  readonly url: string;
  /** Where the processor must POST webhooks. */
  readonly webhookUrl: string;
  readonly orders: OrderBook;
  close(): Promise<void>;
}

const CHECKOUT_SCRIPT = readFileSync(CHECKOUT_SCRIPT_URL);
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** What the button sends to start a checkout: the product, and the price it shows (to refuse a stale page). */
const checkoutBody = z.object({
  product: z.string(),
  amount: z.string().optional(),
  currency: z.string().optional(),
});
/** A refund of the whole order, or of `amount` (a decimal in the order's currency). */
const refundBody = z.object({ amount: z.string().optional() }).optional();

/** What the button and the back office see of an order. */
function publicOrder(o: Order) {
  return {
    id: o.id,
    product: o.product,
    title: o.title,
    amount: o.amount,
    display: formatMoney(o.amount),
    status: o.status,
    confirming: o.confirming ?? false,
    shortCode: o.shortCode,
    expiresAt: o.expiresAt,
    paymentId: o.paymentId,
    paidAt: o.paidAt,
    refunds: o.refunds,
  };
}

/**
 * Starts the shop. Close it with `close()`.
 * @example
 *   const shop = await startShop({ merchant: new SemopsMerchant({ baseUrl, apiKey }), webhookSecret });
 *   console.log(`Shop: ${shop.url}, webhooks to ${shop.webhookUrl}`);
 */
export async function startShop(opts: ShopOptions): Promise<Shop> {
  const { merchant } = opts;
  const log = opts.log ?? (() => undefined);
  const currency = opts.currency ?? 'EUR';
  const products = opts.products ?? DEFAULT_PRODUCTS;
  const orders = createOrderBook();
  /** Webhook event ids already handled: a redelivered or replayed event changes nothing. */
  const seenEvents = new Set<string>();
  const stopping = new AbortController();
  const streams = new Set<ServerResponse>();

  /** Follows the request at the processor for what webhooks do not report: expiry and cancellation. */
  function follow(order: Order, requestId: string): void {
    merchant
      .waitForCompletion(requestId, {
        signal: stopping.signal,
        timeoutMs: (opts.checkoutSeconds ?? 600) * 1000 + 60_000,
      })
      .then(
        (r) => {
          if (r.status === 'PAID') orders.markConfirming(order.id);
          else if (r.status === 'EXPIRED' || r.status === 'CANCELLED') orders.markEnded(order.id, r.status);
        },
        (e: unknown) => {
          if (!stopping.signal.aborted) log(`shop: following ${requestId} failed: ${String(e)}`);
        },
      );
  }

  function orderOf(req: FastifyRequest): Order {
    const { id } = req.params as { id: string };
    const order = orders.get(id);
    if (!order) throw new SemopsError('NOT_FOUND', 'No such order.');
    return order;
  }

  async function checkout(req: FastifyRequest, reply: FastifyReply) {
    const body = parse(checkoutBody, req.body);
    const product = products.find((p) => p.id === body.product);
    if (!product) throw new SemopsError('VALIDATION_FAILED', 'No such product in this shop.');
    const price = money(product.price, currency);
    // The button shows a price; refuse if it is not the one the server charges (a stale page).
    if (body.amount !== undefined) {
      let shown: Money | undefined;
      try {
        shown = money(body.amount, body.currency ?? currency);
      } catch {
        shown = undefined;
      }
      if (!shown || !sameMoney(shown, price)) {
        throw new SemopsError('PRICE_CHANGED', `The price is now ${formatMoney(price)}; reload the page.`);
      }
    }
    const order = orders.create(product.id, product.title, price);
    const r = await merchant.createRequest(
      {
        amount: price,
        reference: order.id,
        description: product.title,
        expiresInSeconds: opts.checkoutSeconds ?? 600,
      },
      { idempotencyKey: order.id },
    );
    orders.attachRequest(order.id, r);
    follow(order, r.id);
    log(`shop: order ${order.id} ${formatMoney(price)} → request ${r.id} (code ${r.shortCode})`);
    return reply.code(201).send({
      id: order.id,
      requestId: r.id,
      qr: r.qr,
      qrSvg: await QRCode.toString(r.qr, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
      deepLink: r.deepLink,
      shortCode: r.shortCode,
      statusUrl: `/api/orders/${order.id}/status`,
      cancelUrl: `/api/orders/${order.id}/cancel`,
      amount: price,
      display: formatMoney(price),
      expiresAt: r.expiresAt,
      wallets: (opts.walletLinks ?? []).map((w) => ({
        name: w.name,
        url: `${w.url}?code=${encodeURIComponent(r.shortCode)}`,
      })),
    });
  }

  /** The webhook, verified over its body exactly as sent (so its route takes the raw bytes, see below). */
  async function webhook(req: FastifyRequest) {
    let event;
    try {
      event = await verifyWebhook(
        Buffer.isBuffer(req.body) ? req.body : '',
        req.headers['semops-signature'],
        opts.webhookSecret,
      );
    } catch (e) {
      if (e instanceof WebhookSignatureError) {
        log(`shop: refused a webhook: ${e.reason} (${e.message})`);
        throw new SemopsError('SIGNATURE_INVALID', `Webhook refused: ${e.reason}`);
      }
      throw e;
    }
    if (seenEvents.has(event.id)) return { ok: true, duplicate: true };
    if (isPaymentCompleted(event)) {
      const d = event.data;
      const order = orders.byRequest(d.requestId) ?? orders.get(d.reference);
      if (!order) {
        log(`shop: payment ${d.paymentId} for unknown order ${d.reference}; ignored`);
      } else if (!sameMoney(order.amount, d.amount)) {
        log(`shop: payment ${d.paymentId} of ${formatMoney(d.amount)} does not match order ${order.id}`);
      } else {
        orders.markPaid(order.id, d.paymentId);
        log(`shop: order ${order.id} paid (${d.paymentId}, webhook ${event.id})`);
      }
    }
    seenEvents.add(event.id);
    return { ok: true };
  }

  /** The order as JSON, or as server-sent events until it is no longer pending. */
  async function status(req: FastifyRequest, reply: FastifyReply) {
    const order = orderOf(req);
    if (!String(req.headers.accept ?? '').includes('text/event-stream')) return publicOrder(order);
    void reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      ...SECURITY_HEADERS,
    });
    streams.add(res);
    const push = (o: Order) => {
      res.write(`event: status\ndata: ${JSON.stringify(publicOrder(o))}\n\n`);
      if (o.status !== 'PENDING') end();
    };
    const unwatch = orders.watch(order.id, push);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    function end() {
      unwatch();
      clearInterval(heartbeat);
      streams.delete(res);
      res.end();
    }
    res.on('close', end);
    push(order);
    return reply;
  }

  async function cancel(req: FastifyRequest) {
    const order = orderOf(req);
    if (order.status === 'PENDING' && order.requestId) {
      try {
        await merchant.cancelRequest(order.requestId);
        orders.markEnded(order.id, 'CANCELLED');
      } catch (e) {
        // Paid in the meantime: the webhook will mark the order; tell the button.
        if (!(e instanceof SemopsApiError && e.code === 'REQUEST_ALREADY_PAID')) throw e;
        return { ...publicOrder(order), status: 'PAID' };
      }
    }
    return publicOrder(order);
  }

  async function refund(req: FastifyRequest, reply: FastifyReply) {
    const order = orderOf(req);
    const body = parse(refundBody, req.body);
    if (order.status !== 'PAID' || !order.paymentId) {
      throw new SemopsError(
        'PAYMENT_NOT_FOUND',
        'This order is not paid; only a paid order can be refunded.',
      );
    }
    let part: Money | undefined;
    if (body?.amount) {
      try {
        part = money(body.amount, order.amount.currency);
      } catch {
        throw new SemopsError('AMOUNT_INVALID', 'Give the amount as a decimal, e.g. 2.50.');
      }
    }
    const r = await merchant.refund(order.paymentId, part, {
      idempotencyKey: `${order.id}-refund-${order.refunds.length + 1}`,
    });
    orders.addRefund(order.id, { amount: r.amount, refundId: r.refundId });
    return reply.code(201).send(publicOrder(order));
  }

  function routes(shop: FastifyInstance): void {
    shop.addHook('onRequest', async (_req, reply) => {
      void reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' });
    });
    shop.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      if (err instanceof SemopsApiError) {
        // The processor refused or could not be reached: say what it said, as the shop's upstream failure.
        log(`shop: SEMOPS said ${err.code} (${err.status}): ${err.message}`);
        return reply.code(502).send(new SemopsError(err.code, `SEMOPS: ${err.message}`).toBody());
      }
      if (!(err instanceof SemopsError) && (err.statusCode ?? 500) >= 500) {
        log(`shop: ${req.method} ${req.url} failed: ${err.stack ?? err.message}`);
      }
      // The nodes' error handler answers the rest.
      throw err;
    });
    const file = (type: string, body: string | Buffer) => (_req: FastifyRequest, reply: FastifyReply) =>
      reply.type(type).header('cache-control', 'no-cache').send(body);
    const page = renderPage({
      name: opts.name ?? 'Bookshop Hofer',
      currency,
      products,
      walletLinks: opts.walletLinks ?? [],
    });
    shop.get('/', file('text/html; charset=utf-8', page));
    shop.get('/index.html', file('text/html; charset=utf-8', page));
    shop.get('/semops-checkout.js', file('text/javascript; charset=utf-8', CHECKOUT_SCRIPT));
    shop.get('/shop.js', file('text/javascript; charset=utf-8', PAGE_SCRIPT));
    shop.get('/shop.css', file('text/css; charset=utf-8', PAGE_CSS));
    shop.get('/favicon.ico', (_req, reply) => reply.code(204).send());
    shop.post('/api/checkout', checkout);
    shop.get('/api/orders', () => ({ orders: orders.list().map(publicOrder) }));
    shop.get('/api/orders/:id', async (req) => publicOrder(orderOf(req)));
    shop.get('/api/orders/:id/status', status);
    shop.post('/api/orders/:id/cancel', cancel);
    shop.post('/api/orders/:id/refund', refund);
    // A webhook's signature covers its body as sent: this route takes the raw bytes, whatever their type.
    void shop.register(async (hooks) => {
      hooks.removeAllContentTypeParsers();
      hooks.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      hooks.post('/webhooks/semops', webhook);
    });
  }

  const app = createServer();
  await app.register(async (shop) => routes(shop));
  const server = await listenLoopback(app, opts.port ?? 0, opts.host);
  return {
    url: server.url,
    webhookUrl: `${server.url}/webhooks/semops`,
    orders,
    async close() {
      stopping.abort();
      for (const s of streams) s.end();
      await server.close();
    },
  };
}
