import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_PROCESSORS, call, type NodeHandle, type PaymentView } from '@semops/cli';
import { checkRequestPaid, eur, sale } from '@semops/cli/testkit';
import { freshNetwork } from './helpers.js';

/**
 * What an operator sees of a running network: every node answers /health and /ready, shows Prometheus metrics
 * to its metrics or operator token only, counts and times a wallet payment, and writes the wallet request's
 * trace id in the payer's, the hub's and the payee's log lines for it.
 */
describe('observability', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let nodes: NodeHandle[];

  beforeAll(async () => {
    env = await freshNetwork({ processors: DEMO_PROCESSORS.slice(0, 2), logLevel: 'debug' });
    nodes = [env.net.hub, ...env.net.processors.values()];
  }, 60_000);
  afterAll(async () => env?.close());

  const metricsToken = (n: NodeHandle) =>
    readFileSync(join(n.dataDir, 'secrets', 'metrics-token.secret'), 'utf8').trim();
  const scrape = async (n: NodeHandle) => {
    const r = await call<string>('GET', `${n.url}/metrics`, { token: metricsToken(n) });
    expect(r.status).toBe(200);
    return r.body;
  };
  const logOf = (n: NodeHandle) => readFileSync(join(n.dataDir, 'logs', `${n.id}.log`), 'utf8');

  it('answers /health and /ready on every node, without credentials', async () => {
    for (const n of nodes) {
      const health = await call('GET', `${n.url}/health`);
      expect(health).toEqual({ status: 200, body: { status: 'ok' } });
      const ready = await call('GET', `${n.url}/ready`);
      expect(ready).toEqual({
        status: 200,
        body: {
          status: 'ready',
          checks: n.id === 'hub' ? { database: 'ok' } : { database: 'ok', hub: 'ok' },
        },
      });
    }
  });

  it('shows /metrics to the metrics token or the operator token, and to nobody else', async () => {
    for (const n of nodes) {
      const without = await call<{ error: { code: string } }>('GET', `${n.url}/metrics`);
      expect(without.status).toBe(401);
      expect(without.body.error.code).toBe('UNAUTHORIZED');
      expect((await call('GET', `${n.url}/metrics`, { token: 'not-the-token-1' })).status).toBe(401);
      expect((await call('GET', `${n.url}/metrics`, { token: n.adminToken })).status).toBe(200);
      expect(await scrape(n)).toMatch(/^# TYPE semops_step_duration_seconds histogram$/m);
    }
  });

  it("counts and times a wallet payment on every node, and logs it with the wallet request's trace id", async () => {
    const { ctx } = env;
    const [hub, bankA, mnoB] = nodes as [NodeHandle, NodeHandle, NodeHandle];
    const { c, m, req } = await sale(ctx, 'bank-a', 10_00n, 'mno-b', {
      currency: 'EUR',
      amount: eur(2_50n),
      reference: 'obs-1',
    });
    const traceId = randomBytes(16).toString('hex');
    const resolved = await c.wallet.resolve(req.qr);
    const paid = await call<PaymentView>('POST', `${bankA.url}/v1/wallet/payments`, {
      token: c.wallet.accessToken,
      body: { approval: await c.wallet.approval(resolved, '1234') },
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(paid.status).toBe(201);
    expect(paid.body.status).toBe('COMPLETED');
    await checkRequestPaid(m, req.id);
    const paymentId = paid.body.paymentId;

    const payer = await scrape(bankA);
    expect(payer).toMatch(/^semops_payments_total\{state="RESERVED",channel="wallet",reason=""\} 1$/m);
    expect(payer).toMatch(/^semops_payments_total\{state="COMMITTED",channel="wallet",reason=""\} 1$/m);
    for (const step of ['payer_approve', 'payer_reserve', 'payer_settle'])
      expect(payer).toMatch(new RegExp(`^semops_step_duration_seconds_count\\{step="${step}"\\} 1$`, 'm'));
    expect(payer).toMatch(/^semops_commit_batch_size_count\{queue="sql"\} [1-9]\d*$/m);

    await vi.waitFor(async () => {
      const payee = await scrape(mnoB);
      expect(payee).toMatch(/^semops_incoming_transfers_total\{state="ACCEPTED",reason=""\} 1$/m);
      expect(payee).toMatch(/^semops_incoming_transfers_total\{state="COMMITTED",reason=""\} 1$/m);
      for (const step of ['payee_accept', 'payee_commit'])
        expect(payee).toMatch(new RegExp(`^semops_step_duration_seconds_count\\{step="${step}"\\} 1$`, 'm'));
    });

    const atHub = await scrape(hub);
    expect(atHub).toMatch(/^semops_hub_transfers_total\{state="RESERVED"\} 1$/m);
    expect(atHub).toMatch(/^semops_hub_transfers_total\{state="COMMITTED"\} 1$/m);
    for (const step of ['hub_prepare', 'hub_forward', 'hub_commit'])
      expect(atHub).toMatch(new RegExp(`^semops_step_duration_seconds_count\\{step="${step}"\\} 1$`, 'm'));
    expect(atHub).toMatch(/^semops_commit_batch_size_count\{queue="ledger"\} [1-9]\d*$/m);
    // The position gauges show what the operator's positions call does, read when scraped.
    const positions = await env.net.hub.admin.positions();
    for (const p of positions) {
      for (const amount of ['liquidity', 'position', 'reserved', 'available'] as const) {
        const line = `semops_hub_${amount}{processor="${p.processorId}",currency="${p.currency}"} ${p[amount]}`;
        expect(atHub.split('\n')).toContain(line);
      }
    }
    expect(positions.find((p) => p.processorId === 'bank-a')?.position).not.toBe('0');

    // The wallet request's trace id is on the payer's, the hub's and the payee's line for this payment.
    const lineOf = (n: NodeHandle) =>
      logOf(n)
        .split('\n')
        .filter((l) => l.includes(paymentId))
        .map((l) => JSON.parse(l) as { traceId?: string; msg: string });
    await vi.waitFor(() => {
      expect(lineOf(bankA)).toContainEqual(
        expect.objectContaining({ traceId, msg: 'payment executed', state: 'COMMITTED' }),
      );
      expect(lineOf(hub)).toContainEqual(expect.objectContaining({ traceId, msg: 'transfer reserved' }));
      expect(lineOf(hub)).toContainEqual(
        expect.objectContaining({ traceId, msg: 'transfer decided', state: 'COMMITTED' }),
      );
      expect(lineOf(mnoB)).toContainEqual(
        expect.objectContaining({ traceId, msg: 'transfer prepare answered', decision: 'FULFIL' }),
      );
    });
  });

  it('counts payments refused by wrong PINs, the lock-out, and webhook deliveries ok and failed', async () => {
    const { ctx } = env;
    const [, bankA, mnoB] = nodes as [NodeHandle, NodeHandle, NodeHandle];
    let answered = 0;
    const hooks = createServer((req, res) => {
      req.resume();
      // The first delivery fails (retried later), the second is taken.
      res.writeHead(answered++ === 0 ? 500 : 204).end();
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    try {
      const port = (hooks.address() as { port: number }).port;
      const m = await ctx.merchant('mno-b', 'Hooked shop', `http://127.0.0.1:${port}/hooks`);
      const c = await ctx.customer('bank-a', 10_00n);
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(1_00n), reference: 'obs-2' });
      const resolved = await c.wallet.resolve(req.qr);
      const codes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await call<{ error: { code: string } }>('POST', `${bankA.url}/v1/wallet/payments`, {
          token: c.wallet.accessToken,
          body: { approval: await c.wallet.approval(resolved, '9999') },
        });
        codes.push(r.body.error.code);
      }
      expect(codes).toEqual(['PIN_INVALID', 'PIN_INVALID', 'PIN_LOCKED']);
      const payer = await scrape(bankA);
      expect(payer).toMatch(
        /^semops_payments_total\{state="FAILED",channel="wallet",reason="PIN_INVALID"\} 2$/m,
      );
      expect(payer).toMatch(
        /^semops_payments_total\{state="FAILED",channel="wallet",reason="PIN_LOCKED"\} 1$/m,
      );
      expect(payer).toMatch(/^semops_pin_lockouts_total 1$/m);

      const payer2 = await ctx.customer('bank-a', 10_00n);
      expect((await payer2.wallet.pay(req.qr, '1234')).status).toBe('COMPLETED');
      await vi.waitFor(
        async () => {
          const payee = await scrape(mnoB);
          expect(payee).toMatch(/^semops_webhook_deliveries_total\{outcome="failed"\} 1$/m);
          expect(payee).toMatch(/^semops_webhook_deliveries_total\{outcome="ok"\} 1$/m);
        },
        { timeout: 10_000, interval: 200 },
      );
    } finally {
      hooks.close();
    }
  });

  it("turns a processor's /ready to 503 NOT_READY naming the hub while the hub is down", async () => {
    const [hub, bankA] = nodes as [NodeHandle, NodeHandle];
    await hub.stop();
    try {
      await vi.waitFor(
        async () => {
          const r = await call<{ error: { code: string; details: { checks: Record<string, string> } } }>(
            'GET',
            `${bankA.url}/ready`,
          );
          expect(r.status).toBe(503);
          expect(r.body.error.code).toBe('NOT_READY');
          expect(r.body.error.details.checks).toEqual({ database: 'ok', hub: 'down' });
        },
        { timeout: 10_000, interval: 200 },
      );
      // Alive all the same: liveness does not depend on the hub.
      expect((await call('GET', `${bankA.url}/health`)).status).toBe(200);
    } finally {
      await hub.restart();
    }
    await vi.waitFor(async () => expect((await call('GET', `${bankA.url}/ready`)).status).toBe(200), {
      timeout: 10_000,
      interval: 200,
    });
  });
});
