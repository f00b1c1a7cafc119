/**
 * The example web shop: a tiny node:http server that sells books with the SEMOPS checkout button. It shows
 * what a merchant backend does with @semops/merchant-sdk:
 *
 * - `POST /api/checkout` prices the basket on the server (never trusting the browser), creates a payment
 *   request with the order id as reference and idempotency key, and returns the QR (as SVG), deep link and
 *   short code for the button's dialog;
 * - `POST /webhooks/semops` verifies the signed webhook and marks the order paid — the only way an order
 *   becomes paid; events are deduplicated by id;
 * - `GET /api/orders/:id/status` streams the order's status to the button (server-sent events, or JSON).
 *
 * Orders live in memory: this is a demo.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import QRCode from 'qrcode';
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
  readonly host?: string;
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

const MAX_BODY = 64 * 1024;
const CHECKOUT_SCRIPT = readFileSync(CHECKOUT_SCRIPT_URL);
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
  });
  res.end(text);
}

function sendFile(res: ServerResponse, type: string, body: string | Buffer): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readBody(req)).toString('utf8');
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'MALFORMED_JSON', 'Send a JSON object.');
}

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

/** Starts the shop. Close it with `close()`. */
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

  async function checkout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const product = products.find((p) => p.id === body.product);
    if (!product) throw new HttpError(400, 'UNKNOWN_PRODUCT', 'No such product in this shop.');
    const price = money(product.price, currency);
    // The button shows a price; refuse if it is not the one the server charges (a stale page).
    if (typeof body.amount === 'string') {
      let shown: Money | undefined;
      try {
        shown = money(body.amount, typeof body.currency === 'string' ? body.currency : currency);
      } catch {
        shown = undefined;
      }
      if (!shown || !sameMoney(shown, price)) {
        throw new HttpError(409, 'PRICE_CHANGED', `The price is now ${formatMoney(price)}; reload the page.`);
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
    send(res, 201, {
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

  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let event;
    try {
      event = await verifyWebhook(raw, req.headers['semops-signature'], opts.webhookSecret);
    } catch (e) {
      if (e instanceof WebhookSignatureError) {
        log(`shop: refused a webhook: ${e.reason} (${e.message})`);
        throw new HttpError(400, 'SIGNATURE_INVALID', `Webhook refused: ${e.reason}`);
      }
      throw e;
    }
    if (seenEvents.has(event.id)) return send(res, 200, { ok: true, duplicate: true });
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
    send(res, 200, { ok: true });
  }

  function status(req: IncomingMessage, res: ServerResponse, order: Order): void {
    if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
      return send(res, 200, publicOrder(order));
    }
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
    req.on('close', end);
    push(order);
  }

  async function cancel(res: ServerResponse, order: Order): Promise<void> {
    if (order.status === 'PENDING' && order.requestId) {
      try {
        await merchant.cancelRequest(order.requestId);
        orders.markEnded(order.id, 'CANCELLED');
      } catch (e) {
        // Paid in the meantime: the webhook will mark the order; tell the button.
        if (!(e instanceof SemopsApiError && e.code === 'REQUEST_ALREADY_PAID')) throw e;
        return send(res, 200, { ...publicOrder(order), status: 'PAID' });
      }
    }
    send(res, 200, publicOrder(order));
  }

  async function refund(req: IncomingMessage, res: ServerResponse, order: Order): Promise<void> {
    const body = await readJson(req);
    if (order.status !== 'PAID' || !order.paymentId) {
      throw new HttpError(409, 'NOT_PAID', 'Only a paid order can be refunded.');
    }
    let part: Money | undefined;
    if (typeof body.amount === 'string' && body.amount !== '') {
      try {
        part = money(body.amount, order.amount.currency);
      } catch {
        throw new HttpError(400, 'AMOUNT_INVALID', 'Give the amount as a decimal, e.g. 2.50.');
      }
    }
    const r = await merchant.refund(order.paymentId, part, {
      idempotencyKey: `${order.id}-refund-${order.refunds.length + 1}`,
    });
    orders.addRefund(order.id, { amount: r.amount, refundId: r.refundId });
    send(res, 201, publicOrder(order));
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://shop.local');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'GET' && (path === '/' || path === '/index.html')) {
      return sendFile(
        res,
        'text/html; charset=utf-8',
        renderPage({
          name: opts.name ?? 'Bookshop Hofer',
          currency,
          products,
          walletLinks: opts.walletLinks ?? [],
        }),
      );
    }
    if (method === 'GET' && path === '/semops-checkout.js') {
      return sendFile(res, 'text/javascript; charset=utf-8', CHECKOUT_SCRIPT);
    }
    if (method === 'GET' && path === '/shop.js')
      return sendFile(res, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
    if (method === 'GET' && path === '/shop.css') return sendFile(res, 'text/css; charset=utf-8', PAGE_CSS);
    if (method === 'GET' && path === '/favicon.ico') return void res.writeHead(204).end();
    if (method === 'POST' && path === '/api/checkout') return checkout(req, res);
    if (method === 'POST' && path === '/webhooks/semops') return webhook(req, res);
    if (method === 'GET' && path === '/api/orders') {
      return send(res, 200, { orders: orders.list().map(publicOrder) });
    }
    const m = /^\/api\/orders\/(ord_[0-9a-f]{12})(\/status|\/cancel|\/refund)?$/.exec(path);
    if (m) {
      const order = orders.get(m[1]!);
      if (!order) throw new HttpError(404, 'NOT_FOUND', 'No such order.');
      const action = m[2] ?? '';
      if (method === 'GET' && (action === '' || action === '/status')) return status(req, res, order);
      if (method === 'POST' && action === '/cancel') return cancel(res, order);
      if (method === 'POST' && action === '/refund') return refund(req, res, order);
    }
    throw new HttpError(404, 'NOT_FOUND', 'No such page.');
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.end();
      if (e instanceof HttpError) return send(res, e.status, { error: { code: e.code, message: e.message } });
      if (e instanceof SemopsApiError) {
        // The processor refused or could not be reached: say what it said, as the shop's upstream failure.
        log(`shop: SEMOPS said ${e.code} (${e.status}): ${e.message}`);
        return send(res, 502, { error: { code: e.code, message: `SEMOPS: ${e.message}` } });
      }
      log(
        `shop: ${req.method} ${req.url} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
      send(res, 500, { error: { code: 'INTERNAL', message: 'The shop failed; see its log.' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    webhookUrl: `${url}/webhooks/semops`,
    orders,
    async close() {
      stopping.abort();
      for (const s of streams) s.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
