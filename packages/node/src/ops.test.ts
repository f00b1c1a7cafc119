import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { createServer } from './http.js';
import { createNodeMetrics } from './metrics.js';
import { cachedCheck, registerOpsRoutes } from './ops.js';

/** `/health`, `/ready` and `/metrics` over real HTTP, and the trace id every answer carries. */
describe('ops routes', () => {
  let app: FastifyInstance;
  let base: string;
  let hubUp = true;
  const metrics = createNodeMetrics();

  beforeAll(async () => {
    app = createServer();
    registerOpsRoutes(app, {
      checks: {
        database: async () => true,
        hub: async () => {
          if (!hubUp) throw new Error('connection refused');
          return true;
        },
      },
      metrics,
      tokens: ['metrics-token-1', 'operator-token-1'],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => app.close());

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${base}${path}`, { headers });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };

  it('answers /health without credentials', async () => {
    const r = await get('/health');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ status: 'ok' });
  });

  it('is ready while every check passes, and names what is not ready with 503 NOT_READY', async () => {
    const ok = await get('/ready');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({
      status: 'ready',
      checks: { database: 'ok', hub: 'ok' },
    });
    hubUp = false;
    await vi.waitFor(async () => {
      const r = await get('/ready');
      expect(r.status).toBe(503);
      const body = JSON.parse(r.text) as { error: { code: string; message: string; details: unknown } };
      expect(body.error.code).toBe('NOT_READY');
      expect(body.error.message).toBe('Not ready: hub down.');
      expect(body.error.details).toEqual({ checks: { database: 'ok', hub: 'down' } });
    });
    hubUp = true;
    await vi.waitFor(async () => expect((await get('/ready')).status).toBe(200));
  });

  it('asks a cached check once, however many ask at once or within its period', async () => {
    let asked = 0;
    let answer: (ok: boolean) => void = () => undefined;
    const check = cachedCheck(() => {
      asked += 1;
      return new Promise<boolean>((r) => (answer = r));
    }, 60_000);
    const waiting = Promise.all(Array.from({ length: 20 }, () => check()));
    answer(true);
    expect(await waiting).toEqual(Array.from({ length: 20 }, () => true));
    expect(await check()).toBe(true);
    expect(asked).toBe(1);
  });

  it('serves /metrics to the metrics or operator token only', async () => {
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', { authorization: 'Bearer wrong-token-1' })).status).toBe(401);
    metrics.step('payer_reserve', performance.now() - 3, 2);
    metrics.commitBatch('sql', 7);
    for (const token of ['metrics-token-1', 'operator-token-1']) {
      const r = await get('/metrics', { authorization: `Bearer ${token}` });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.text).toMatch(/^semops_step_duration_seconds_count\{step="payer_reserve"\} 2$/m);
      expect(r.text).toMatch(/^semops_commit_batch_size_bucket\{le="8",queue="sql"\} 1$/m);
      expect(r.text).toMatch(/^process_cpu_seconds_total /m);
    }
  });

  it('answers with the trace id of traceparent or x-request-id, or one of its own', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect((await get('/health', { traceparent })).headers['x-request-id']).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect((await get('/health', { 'x-request-id': 'checkout-42' })).headers['x-request-id']).toBe(
      'checkout-42',
    );
    const made = (await get('/health', { 'x-request-id': 'no spaces or {json} here' })).headers[
      'x-request-id'
    ];
    expect(made).toMatch(/^[\da-f]{32}$/);
    const zero = '00-00000000000000000000000000000000-00f067aa0ba902b7-01';
    expect((await get('/health', { traceparent: zero })).headers['x-request-id']).toMatch(/^[\da-f]{32}$/);
  });

  it('counts a check that does not answer in time as timeout', async () => {
    const other = createServer();
    registerOpsRoutes(other, {
      checks: { database: () => new Promise<boolean>(() => undefined) },
      metrics: createNodeMetrics(),
      tokens: [],
      checkTimeoutMs: 20,
    });
    const r = await other.inject({ url: '/ready' });
    await other.close();
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({
      error: { code: 'NOT_READY', details: { checks: { database: 'timeout' } } },
    });
  });
});
