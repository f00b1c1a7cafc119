import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, codeOf, json } from '@semops/cli';
import { freshNetwork } from './helpers.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'packages', 'cli', 'dist', 'main.js');
const eur = (value: bigint) => ({ value: value.toString(), currency: 'EUR' });

/** Runs `semops verify-receipt` and returns its exit code and output. */
async function verifyReceipt(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'verify-receipt', ...args]);
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/** The same signed receipt with its payload changed and the signature kept. */
function forge(jws: string, change: (p: Record<string, unknown>) => void): string {
  const [h, p, s] = jws.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(payload);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

describe('use cases: parking, tickets, checkout', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  beforeAll(async () => {
    env = await freshNetwork();
  });
  afterAll(async () => {
    await env?.close();
  });

  async function merchant(processorId = 'mno-b') {
    const m = await env.ctx.merchant(processorId, 'Use Case Shop');
    const create = (body: Record<string, unknown>) =>
      call<{ error?: { code: string }; id?: string; shortCode?: string; qr?: string; returnUrl?: string }>(
        'POST',
        `${m.client.url}/v1/requests`,
        { token: m.apiKey, body },
      );
    return { ...m, create };
  }

  it('refuses bad parking, ticket and checkout requests with VALIDATION_FAILED, creating nothing', async () => {
    const m = await merchant();
    const parking = { currency: 'EUR', kind: 'parking', zone: 'Z1', reference: 'z', reusable: true };
    const bad: Array<Record<string, unknown>> = [
      { ...parking, tariff: { perMinute: '0', minMinutes: 10, maxMinutes: 60 } },
      { ...parking, tariff: { perMinute: '-5', minMinutes: 10, maxMinutes: 60 } },
      { ...parking, tariff: { perMinute: 5, minMinutes: 10, maxMinutes: 60 } },
      { ...parking, tariff: { perMinute: '5', minMinutes: 60, maxMinutes: 10 } },
      { ...parking, tariff: { perMinute: '5', minMinutes: 0, maxMinutes: 10 } },
      { ...parking, tariff: { perMinute: '5', minMinutes: 1.5, maxMinutes: 10 } },
      { ...parking, tariff: { perMinute: '5', minMinutes: 1, maxMinutes: 10, extra: 1 } },
      { ...parking, tariff: { perMinute: '5', minMinutes: 1, maxMinutes: 10 }, amount: eur(100n) },
      { ...parking, zone: undefined, tariff: { perMinute: '5', minMinutes: 1, maxMinutes: 10 } },
      { ...parking, kind: undefined, tariff: { perMinute: '5', minMinutes: 1, maxMinutes: 10 } },
      { currency: 'EUR', kind: 'ticket', amount: eur(100n), reference: 't' },
      { currency: 'EUR', kind: 'ticket', event: 'X', zone: 'Z', amount: eur(100n), reference: 't' },
      { currency: 'EUR', kind: 'lottery', amount: eur(100n), reference: 't' },
      { currency: 'EUR', amount: eur(100n), reference: 'w', returnUrl: 'javascript:alert(1)' },
      { currency: 'EUR', amount: eur(100n), reference: 'w', returnUrl: 'not a url' },
      { currency: 'EUR', amount: eur(100n), reference: 'w', returnUrl: 'ftp://shop.example/x' },
    ];
    for (const body of bad) {
      const r = await m.create(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error?.code).toBe('VALIDATION_FAILED');
    }
    const ok = await m.create({
      currency: 'EUR',
      amount: eur(100n),
      reference: 'w',
      returnUrl: 'http://localhost:3000/return?order=1',
    });
    expect(ok.status).toBe(201);
    expect(ok.body.returnUrl).toBe('http://localhost:3000/return?order=1');
  });

  it('parking: minutes out of range or part minutes are refused; the permit verifies offline, forgeries do not', async () => {
    const m = await merchant('mno-b');
    const c = await env.ctx.customer('bank-a', 50_00n);
    const zone = await m.create({
      currency: 'EUR',
      kind: 'parking',
      zone: 'Zone 7',
      tariff: { perMinute: '10', minMinutes: 15, maxMinutes: 120 },
      reference: 'zone-7',
      reusable: true,
    });
    expect(zone.status).toBe(201);
    const code = zone.body.shortCode!;
    // 10 minutes (below 15) and 121 minutes (above 120) are out of range: nothing moves.
    expect(await codeOf(c.wallet.pay(code, '1234', eur(10n * 10n)))).toBe('AMOUNT_OUT_OF_RANGE');
    expect(await codeOf(c.wallet.pay(code, '1234', eur(121n * 10n)))).toBe('AMOUNT_OUT_OF_RANGE');
    const part = await c.wallet.pay(code, '1234', eur(205n));
    expect(part.status).toBe('FAILED');
    expect(part.error).toContain('AMOUNT_OUT_OF_RANGE');
    expect(await c.wallet.balance()).toBe(50_00n);

    const paid = await c.wallet.pay(code, '1234', eur(20n * 10n));
    expect(paid.status).toBe('COMPLETED');
    const permit = paid.receipt!;
    const keyUrl = `${env.ctx.processor('mno-b').url}/v1/info`;

    const valid = await verifyReceipt([permit, '--key-url', keyUrl]);
    expect(valid.code, valid.out).toBe(0);
    expect(valid.out).toMatch(/^VALID/);
    expect(valid.out).toContain('Zone 7');
    expect(valid.out).toMatch(/minutes\s+20/);

    // Offline from a saved key file: the JWK itself, or the saved /v1/info answer.
    const info = await json<{ signingKey: unknown }>('GET', keyUrl);
    const jwkFile = join(env.dir, 'mno-b.jwk.json');
    writeFileSync(jwkFile, JSON.stringify(info.signingKey));
    expect((await verifyReceipt([permit, '--key', jwkFile])).code).toBe(0);

    const payload = JSON.parse(Buffer.from(permit.split('.')[1]!, 'base64url').toString()) as {
      validUntil: number;
    };
    const expired = await verifyReceipt([permit, '--key', jwkFile, '--at', String(payload.validUntil + 1)]);
    expect(expired.code).toBe(1);
    expect(expired.out).toMatch(/^EXPIRED/);

    const longer = forge(permit, (p) => (p.validUntil = Number(p.validUntil) + 3_600_000));
    const forged = await verifyReceipt([longer, '--key', jwkFile]);
    expect(forged.code).toBe(1);
    expect(forged.out).toMatch(/^INVALID: the signature does not verify/);

    // Signed by another processor: invalid with mno-b's key.
    const otherKey = join(env.dir, 'bank-a.info.json');
    writeFileSync(otherKey, JSON.stringify(await env.ctx.processor('bank-a').admin.info()));
    expect((await verifyReceipt([permit, '--key', otherKey])).code).toBe(1);
    expect((await verifyReceipt(['not.a.jws', '--key', jwkFile])).out).toMatch(/^INVALID/);
  });

  it('tickets: accepted once, reused → TICKET_ALREADY_USED, forged or foreign → TICKET_INVALID', async () => {
    const m = await merchant('bank-a');
    const other = await merchant('bank-a');
    const c = await env.ctx.customer('mno-b', 50_00n);
    const sale = await m.create({
      currency: 'EUR',
      kind: 'ticket',
      event: 'Match day',
      amount: eur(12_00n),
      reference: 'match',
      reusable: true,
    });
    expect(sale.status).toBe(201);
    const paid = await c.wallet.pay(sale.body.qr!, '1234');
    expect(paid.status).toBe('COMPLETED');
    const ticket = paid.receipt!;
    const validate = (key: string, body: unknown) =>
      call<{ error?: { code: string }; valid?: boolean; event?: string }>(
        'POST',
        `${env.ctx.processor('bank-a').url}/v1/tickets/validate`,
        { token: key, body },
      );

    const offline = await verifyReceipt([ticket, '--key-url', `${env.ctx.processor('bank-a').url}/v1/info`]);
    expect(offline.code, offline.out).toBe(0);
    expect(offline.out).toContain('Match day');

    // Bad input first: nothing is marked used.
    expect((await validate(m.apiKey, {})).body.error?.code).toBe('VALIDATION_FAILED');
    expect((await validate(m.apiKey, { ticket: 'garbage' })).body.error?.code).toBe('TICKET_INVALID');
    const forged = await validate(m.apiKey, { ticket: forge(ticket, (p) => (p.event = 'Final')) });
    expect(forged.status).toBe(422);
    expect(forged.body.error?.code).toBe('TICKET_INVALID');
    expect((await validate(other.apiKey, { ticket })).body.error?.code).toBe('TICKET_INVALID');
    expect((await validate('nope-not-a-key', { ticket })).status).toBe(401);

    // The merchant's processor may learn of the payment only when the hub's commit arrives.
    const first = await vi.waitFor(
      async () => {
        const r = await validate(m.apiKey, { ticket });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return r;
      },
      { timeout: 5000, interval: 100 },
    );
    expect(first.body).toMatchObject({ valid: true, event: 'Match day' });
    const twice = await Promise.all([validate(m.apiKey, { ticket }), validate(m.apiKey, { ticket })]);
    for (const t of twice) {
      expect(t.status).toBe(409);
      expect(t.body.error?.code).toBe('TICKET_ALREADY_USED');
    }

    // A plain receipt is not a ticket.
    const plain = await m.create({ currency: 'EUR', amount: eur(1_00n), reference: 'plain' });
    const p = await c.wallet.pay(plain.body.qr!, '1234');
    expect((await validate(m.apiKey, { ticket: p.receipt })).body.error?.code).toBe('TICKET_INVALID');
  });

  it('checkout: the wallet gets the return URL when resolving', async () => {
    const m = await merchant('bank-a');
    const c = await env.ctx.customer('bank-a', 10_00n);
    const order = await m.create({
      currency: 'EUR',
      amount: eur(3_00n),
      reference: 'o-1',
      returnUrl: 'https://shop.example/return',
    });
    const r = (await c.wallet.resolve(order.body.qr!)) as { returnUrl?: string };
    expect(r.returnUrl).toBe('https://shop.example/return');
  });
});
