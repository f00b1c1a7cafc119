/**
 * The simulated gateway against two stand-in processors that answer the gateway webhooks as docs/channels.md
 * says and record what they were sent: routing by phone number, USSD sessions as gateways send them, the
 * gateway secret. The real processors are in test/browser/simulator.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SemopsError } from '@semops/protocol';
import { createSimulatedGateway, type SimulatorProcessor } from './gateway.js';

const ESTHER = '+254711000301';
const NO_ACCOUNT = 'This number has no account here. Ask your bank or mobile operator to open one.';

interface Seen {
  path: string;
  token: string | undefined;
  authorization: string | undefined;
  body: Record<string, string>;
}

/** A processor's gateway webhooks: `customers` are its numbers; every call is kept in `seen`. */
async function standIn(id: string, customers: string[], dir: string) {
  const dataDir = join(dir, id);
  mkdirSync(join(dataDir, 'secrets'), { recursive: true });
  const state = { token: `gw-${id}-1`, seen: [] as Seen[] };
  writeFileSync(join(dataDir, 'secrets', 'sms-gateway-token.secret'), state.token);
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = (raw ? JSON.parse(raw) : {}) as Record<string, string>;
      const token = req.headers['x-gateway-token'] as string | undefined;
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      state.seen.push({ path, token, authorization: req.headers.authorization, body });
      if (path.startsWith('/v1/channels/') && token !== state.token) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'no' } }));
      }
      const known = customers.includes(body.phoneNumber ?? body.from ?? url.searchParams.get('to') ?? '');
      if (path === '/v1/channels/ussd') {
        const screens: Record<string, string> = {
          '': 'CON SEMOPS\n1 Send money\n2 Pay merchant\n4 Balance',
          '2': 'CON Enter merchant code:\n0 Back',
          '4': 'END Balance 50.00 EUR.',
          '2*2020000171': 'CON Pay 4.20 EUR to Cafe Central, Wien?\nEnter PIN to approve:\n0 Back',
          '2*2020000171*2468': 'END Paid 4.20 EUR to Cafe Central, Wien.',
        };
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(known ? (screens[body.text ?? ''] ?? 'CON Invalid choice.') : `END ${NO_ACCOUNT}`);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (path === '/v1/channels/sms/inbound') {
        return res.end(JSON.stringify({ received: true, replies: [known ? `${id} got it` : NO_ACCOUNT] }));
      }
      const messages = [
        { id: 7, direction: 'out', phone: ESTHER, service: 'SEMOPS', text: `later ${id}`, createdAt: 2000 },
        { id: 3, direction: 'out', phone: ESTHER, service: 'SEMOPS', text: `earlier ${id}`, createdAt: 1000 },
      ];
      return res.end(JSON.stringify({ messages: known ? messages : [] }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const processor: SimulatorProcessor = {
    id,
    name: id,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    adminToken: `admin-${id}`,
  };
  return { processor, state, server };
}

describe('simulated SMS and USSD gateway', () => {
  let dir: string;
  let a: Awaited<ReturnType<typeof standIn>>;
  let b: Awaited<ReturnType<typeof standIn>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semops-sim-'));
    a = await standIn('bank-a', [], dir);
    b = await standIn('mno-b', [ESTHER], dir);
  });

  afterAll(async () => {
    for (const s of [a, b]) await new Promise((r) => s.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  function gateway(now: () => number = Date.now) {
    a.state.seen = [];
    b.state.seen = [];
    return createSimulatedGateway({ processors: [a.processor, b.processor], now });
  }

  it('finds the processor of a number it does not know by a USSD dial, which changes nothing', async () => {
    const gw = gateway();
    const r = await gw.sms(ESTHER, 'BAL');
    expect(r).toEqual({ processorId: 'mno-b', replies: ['mno-b got it'] });
    // bank-a was only asked with an empty dial; no text reached it.
    expect(a.state.seen.map((s) => [s.path, s.body.text])).toEqual([['/v1/channels/ussd', '']]);
    expect(b.state.seen.at(-1)).toMatchObject({
      path: '/v1/channels/sms/inbound',
      token: 'gw-mno-b-1',
      body: { from: ESTHER, to: '384', text: 'BAL' },
    });
    // Learnt: the next text goes straight to mno-b.
    await gw.sms(ESTHER, 'MINI');
    expect(a.state.seen).toHaveLength(1);
  });

  it('a number no processor has gets the first processor\'s "no account" reply', async () => {
    const r = await gateway().sms('+254799999999', 'BAL');
    expect(r).toEqual({ processorId: 'bank-a', replies: [NO_ACCOUNT] });
  });

  it('keeps a USSD session and sends the processor everything typed so far, under its own session id', async () => {
    const gw = gateway();
    const start = await gw.ussd('page-session-1', ESTHER, '*384#');
    expect(start).toMatchObject({ status: 'CON', processorId: 'mno-b' });
    expect(start.text).toMatch(/^SEMOPS\n1 Send money/);
    expect((await gw.ussd('page-session-1', ESTHER, '2')).text).toBe('Enter merchant code:\n0 Back');
    expect((await gw.ussd('page-session-1', ESTHER, '2020000171')).status).toBe('CON');
    const end = await gw.ussd('page-session-1', ESTHER, '2468');
    expect(end).toEqual({
      sessionId: 'page-session-1',
      processorId: 'mno-b',
      status: 'END',
      text: 'Paid 4.20 EUR to Cafe Central, Wien.',
    });
    const steps = b.state.seen.filter((s) => s.path === '/v1/channels/ussd').slice(-4);
    expect(steps.map((s) => s.body.text)).toEqual(['', '2', '2*2020000171', '2*2020000171*2468']);
    const ids = new Set(steps.map((s) => s.body.sessionId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).not.toBe('page-session-1');
    expect(steps[0]!.body.serviceCode).toBe('*384#');
    // END closed it.
    await expect(gw.ussd('page-session-1', ESTHER, '1')).rejects.toMatchObject({
      code: 'USSD_SESSION_NOT_FOUND',
    });
  });

  it('takes choices in the dialled code, and answers an unknown service code itself', async () => {
    const gw = gateway();
    expect(await gw.ussd('page-session-2', ESTHER, '*384*4#')).toMatchObject({
      status: 'END',
      text: 'Balance 50.00 EUR.',
    });
    expect(await gw.ussd('page-session-3', ESTHER, '*123#')).toEqual({
      sessionId: 'page-session-3',
      status: 'END',
      text: 'Unknown service code *123#. Dial *384# for SEMOPS.',
    });
    await expect(gw.ussd('page-session-4', ESTHER, '2')).rejects.toBeInstanceOf(SemopsError);
  });

  it('refuses a session of another phone, and closes sessions left idle', async () => {
    let t = 0;
    const gw = gateway(() => t);
    await gw.ussd('page-session-5', ESTHER, '*384#');
    await expect(gw.ussd('page-session-5', '+254711000302', '2')).rejects.toMatchObject({
      code: 'USSD_SESSION_OTHER_PHONE',
    });
    t += 181_000;
    await expect(gw.ussd('page-session-5', ESTHER, '2')).rejects.toMatchObject({
      code: 'USSD_SESSION_NOT_FOUND',
    });
  });

  it('reads the gateway secret again when the processor refuses it', async () => {
    const gw = gateway();
    await gw.sms(ESTHER, 'BAL');
    b.state.token = 'gw-mno-b-2';
    writeFileSync(join(b.processor.dataDir, 'secrets', 'sms-gateway-token.secret'), b.state.token);
    expect((await gw.sms(ESTHER, 'BAL')).replies).toEqual(['mno-b got it']);
    expect(b.state.seen.slice(-2).map((s) => s.token)).toEqual(['gw-mno-b-1', 'gw-mno-b-2']);
  });

  it("reads a phone's inbox newest first, with the operator token", async () => {
    const gw = gateway();
    // Not known yet: every processor is asked, and their texts are merged newest first.
    const inbox = await gw.inbox(ESTHER);
    expect(inbox.map((m) => [m.id, m.text])).toEqual([
      ['mno-b:7', 'later mno-b'],
      ['mno-b:3', 'earlier mno-b'],
    ]);
    expect(a.state.seen.map((s) => s.path)).toEqual(['/v1/admin/sms']);
    expect(b.state.seen[0]).toMatchObject({ path: '/v1/admin/sms', authorization: 'Bearer admin-mno-b' });
    // Once known, only its processor is asked.
    await gw.sms(ESTHER, 'BAL');
    const before = a.state.seen.length;
    expect(await gw.inbox(ESTHER)).toHaveLength(2);
    expect(a.state.seen).toHaveLength(before);
  });
});
