import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '@semops/cli';
import { signWebhook } from '@semops/processor';
import { freshNetwork } from './helpers.js';

interface Hook {
  headers: IncomingMessage['headers'];
  body: string;
}

describe('merchant notifications', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  const hooks: Hook[] = [];
  let failFirst = true;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      // The first delivery fails, so the retry path is exercised too.
      if (failFirst) {
        failFirst = false;
        res.writeHead(500).end();
        return;
      }
      hooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  let hookUrl = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    hookUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hooks`;
    env = await freshNetwork();
  });
  afterAll(async () => {
    server.close();
    await env?.close();
  });

  it('opens the events stream with a short-lived ticket for one request, never with the key in the URL', async () => {
    const { ctx } = env;
    const base = ctx.processor('mno-b').url;
    const m = await ctx.merchant('mno-b', 'Till 3');
    const other = await ctx.merchant('mno-b', 'Other shop');
    const amount = { value: '120', currency: 'EUR' };
    const req = await m.client.createRequest({ currency: 'EUR', amount, reference: 'ticket-1' });
    const req2 = await m.client.createRequest({ currency: 'EUR', amount, reference: 'ticket-2' });
    const ticketFor = async (id: string, key: string) =>
      call<{ ticket: string; expiresAt: number }>('POST', `${base}/v1/requests/${id}/events/ticket`, {
        token: key,
      });
    const t = await ticketFor(req.id, m.apiKey);
    expect(t.status).toBe(200);
    expect(t.body.ticket).not.toContain(m.apiKey);
    // Another merchant gets no ticket for this request; no key, no ticket.
    expect((await ticketFor(req.id, other.apiKey)).status).toBe(404);
    expect((await call('POST', `${base}/v1/requests/${req.id}/events/ticket`)).status).toBe(401);

    const res = await fetch(`${base}/v1/requests/${req.id}/events?ticket=${t.body.ticket}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('"status":"OPEN"');
    await reader.cancel();

    const codeOf = async (query: string, id = req.id) => {
      const r = await call<{ error: { code: string } }>('GET', `${base}/v1/requests/${id}/events?${query}`);
      return `${r.status} ${r.body.error.code}`;
    };
    expect(await codeOf(`ticket=${t.body.ticket}`, req2.id)).toBe('401 UNAUTHORIZED');
    const [body, mac] = t.body.ticket.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...(JSON.parse(Buffer.from(body!, 'base64url').toString()) as object), r: req2.id }),
    ).toString('base64url');
    expect(await codeOf(`ticket=${forged}.${mac}`, req2.id)).toBe('401 UNAUTHORIZED');
    expect(await codeOf(`key=${m.apiKey}`)).toBe('400 VALIDATION_FAILED');
  });

  it('streams status by server-sent events and delivers a signed webhook, retried until accepted', async () => {
    const { ctx } = env;
    const c = await ctx.customer('bank-a', 20_00n);
    const m = await ctx.merchant('mno-b', 'Vending 12', hookUrl);
    const req = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '150', currency: 'EUR' },
      reference: 'slot-4',
    });
    const url = `${ctx.processor('mno-b').url}/v1/requests/${req.id}/events`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${m.apiKey}` } });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const statuses: string[] = [];
    const reading = (async () => {
      const reader = res.body!.getReader();
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        let i: number;
        while ((i = text.indexOf('\n\n')) >= 0) {
          const event = text.slice(0, i);
          text = text.slice(i + 2);
          const data = event.split('\n').find((l) => l.startsWith('data: '));
          if (data) statuses.push((JSON.parse(data.slice(6)) as { status: string }).status);
        }
      }
    })();
    expect((await c.wallet.pay(req.qr, '1234')).status).toBe('COMPLETED');
    await reading; // the stream ends by itself once the request is paid
    expect(statuses[0]).toBe('OPEN');
    expect(statuses.at(-1)).toBe('PAID');

    await expect.poll(() => hooks.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(hooks).toHaveLength(1);
    const hook = hooks[0]!;
    const sig = String(hook.headers['semops-signature']);
    const t = Number(/t=(\d+)/.exec(sig)?.[1]);
    expect(sig).toBe(signWebhook(m.webhookSecret, hook.body, t));
    expect(signWebhook('whsec_wrong', hook.body, t)).not.toBe(sig);
    const event = JSON.parse(hook.body) as {
      type: string;
      data: { requestId: string; amount: { value: string } };
    };
    expect(event).toMatchObject({
      type: 'payment.completed',
      data: { requestId: req.id, amount: { value: '150' } },
    });
    expect(hook.body).not.toContain(c.phone);
  });
});
