/**
 * The client's transport behaviour against a scripted HTTP server (real sockets): typed errors, retries
 * with the same idempotency key, and the event stream. The API itself is exercised against a real
 * processor in test/checkout.test.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SemopsMerchant } from './client.js';
import { SemopsApiError, SemopsTimeoutError } from './errors.js';
import { amount } from './money.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let handlers: Handler[] = [];
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const h = handlers.shift();
    if (h) h(req, res, body);
    else res.writeHead(500).end('no handler');
  });
});
let base = '';

const view = (status: string) => ({
  id: 'req_1',
  status,
  currency: 'EUR',
  reference: 'r',
  reusable: false,
  expiresAt: Date.now() + 60_000,
  token: 't',
  qr: 'q',
  deepLink: 'semops://pay?p=bank-a&r=req_1',
  shortCode: '1010000011',
  payments: [],
});
const json = (status: number, body: unknown) => (_q: IncomingMessage, res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

async function failure(p: Promise<unknown>): Promise<SemopsApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SemopsApiError) return e;
    throw e;
  }
  throw new Error('expected a SemopsApiError');
}

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  handlers = [];
  seen.length = 0;
});

describe('SemopsMerchant transport', () => {
  it('sends the API key, JSON and an idempotency key', async () => {
    handlers.push(json(201, view('OPEN')));
    const m = new SemopsMerchant({ baseUrl: `${base}/`, apiKey: 'sk_test_1' });
    const r = await m.createRequest(
      { amount: amount('1.50', 'EUR'), reference: 'o-1' },
      { idempotencyKey: 'o-1' },
    );
    expect(r.status).toBe('OPEN');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/requests' });
    expect(seen[0]!.headers).toMatchObject({
      authorization: 'Bearer sk_test_1',
      'idempotency-key': 'o-1',
      'content-type': 'application/json',
    });
    expect(JSON.parse(seen[0]!.body)).toEqual({
      currency: 'EUR',
      amount: { value: '150', currency: 'EUR' },
      reference: 'o-1',
    });
  });

  it('rebuilds the typed error from the error body', async () => {
    handlers.push(
      json(400, { error: { code: 'VALIDATION_FAILED', message: 'bad', details: [{ path: ['reference'] }] } }),
    );
    const e = await failure(new SemopsMerchant({ baseUrl: base, apiKey: 'k' }).getRequest('req_1'));
    expect(e).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, message: 'bad' });
    expect(e.details).toEqual([{ path: ['reference'] }]);
    expect(seen).toHaveLength(1); // a 4xx is not retried
  });

  it('maps an answer that is not a SEMOPS error body by its status', async () => {
    handlers.push((_q, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>'));
    const e = await failure(new SemopsMerchant({ baseUrl: base, apiKey: 'k', maxRetries: 0 }).payments());
    expect(e).toMatchObject({ code: 'NOT_FOUND', status: 404, details: '<h1>nope</h1>' });
  });

  it('retries an unavailable processor with the same idempotency key, then succeeds', async () => {
    handlers.push(json(503, { error: { code: 'UNAVAILABLE', message: 'hub down' } }));
    handlers.push((_q, res) => res.destroy()); // connection cut: a transport failure
    handlers.push(json(201, view('OPEN')));
    const m = new SemopsMerchant({ baseUrl: base, apiKey: 'k' });
    await m.createRequest({ amount: amount('1', 'EUR'), reference: 'x' });
    expect(seen).toHaveLength(3);
    const keys = new Set(seen.map((s) => s.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^sdk-/);
  });

  it('gives up after maxRetries with UNAVAILABLE', async () => {
    for (let i = 0; i < 3; i++) handlers.push(json(503, { error: { code: 'UNAVAILABLE', message: 'down' } }));
    const e = await failure(
      new SemopsMerchant({ baseUrl: base, apiKey: 'k', maxRetries: 2 }).getRequest('r'),
    );
    expect(e.code).toBe('UNAVAILABLE');
    expect(seen).toHaveLength(3);
  });

  it('reports an unreachable processor as UNAVAILABLE with status 0', async () => {
    const m = new SemopsMerchant({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k', maxRetries: 0 });
    const e = await failure(m.getRequest('req_1'));
    expect(e).toMatchObject({ code: 'UNAVAILABLE', status: 0 });
  });

  it('waits through a dropped event stream until the request is final', async () => {
    // First stream: OPEN, then the connection ends without a final status (a proxy timeout).
    handlers.push((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      res.write(`event: status\ndata: ${JSON.stringify(view('OPEN'))}\n\n`);
      res.end();
    });
    handlers.push(json(200, view('OPEN'))); // the SDK reads the request before reconnecting
    // Second stream: PAID, split across writes.
    handlers.push((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const text = `event: status\r\ndata: ${JSON.stringify(view('PAID'))}\r\n\r\n`;
      res.write(text.slice(0, 20));
      setTimeout(() => res.end(text.slice(20)), 20);
    });
    const statuses: string[] = [];
    const m = new SemopsMerchant({ baseUrl: base, apiKey: 'k' });
    const r = await m.waitForCompletion('req_1', {
      timeoutMs: 5000,
      onStatus: (x) => statuses.push(x.status),
    });
    expect(r.status).toBe('PAID');
    expect(statuses).toEqual(['OPEN', 'PAID']);
    expect(seen.map((s) => s.url)).toEqual([
      '/v1/requests/req_1/events',
      '/v1/requests/req_1',
      '/v1/requests/req_1/events',
    ]);
    expect(seen[0]!.headers.accept).toBe('text/event-stream');
  });

  it('throws SemopsTimeoutError with the last known request when it stays open', async () => {
    handlers.push((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: status\ndata: ${JSON.stringify(view('OPEN'))}\n\n`);
      // keeps the stream open
    });
    const m = new SemopsMerchant({ baseUrl: base, apiKey: 'k' });
    const err = await m.waitForCompletion('req_1', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SemopsTimeoutError);
    expect((err as SemopsTimeoutError).lastKnown).toMatchObject({ status: 'OPEN' });
  });
});
