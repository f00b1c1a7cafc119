import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '@semops/cli';
import { freshNetwork } from './helpers.js';

/**
 * Rate limits per credential and per address: past the limit a call is refused with 429 RATE_LIMITED and
 * Retry-After before its handler runs (nothing is looked up, counted or changed), and other customers are not
 * affected.
 */
describe('rate limits', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let url: string;

  beforeAll(async () => {
    env = await freshNetwork();
    url = env.net.processors.get('bank-a')!.url;
  }, 60_000);
  afterAll(async () => env?.close());

  const post = (path: string, token: string | undefined, body: unknown) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('phone-number lookups: 30 a minute per device, then 429 with Retry-After; another device is not held up', async () => {
    const walker = await env.ctx.customer('bank-a', 0n);
    const other = await env.ctx.customer('bank-a', 0n);
    const target = await env.ctx.customer('mno-b', 0n);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      statuses.push(
        (await post('/v1/wallet/p2p/resolve', walker.wallet.accessToken, { to: target.phone })).status,
      );
    }
    // Answered (the number is known, or not yet in the directory), never refused as too many.
    expect(statuses.every((st) => st === 200 || st === 404)).toBe(true);
    const refused = await post('/v1/wallet/p2p/resolve', walker.wallet.accessToken, { to: target.phone });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    const fine = await post('/v1/wallet/p2p/resolve', other.wallet.accessToken, { to: target.phone });
    expect(fine.status).not.toBe(429);
  });

  it('credential changes: 10 a minute per device, and a refused call counts no PIN try', async () => {
    const c = await env.ctx.customer('bank-a', 0n);
    for (let i = 0; i < 10; i++) {
      // Eight with the right PIN, then two wrong ones: two tries counted, one left before the lock.
      const r = await post('/v1/wallet/devices/new-activation', c.wallet.accessToken, {
        action: await c.wallet.action('device.new-activation', i < 8 ? '1234' : '9999'),
      });
      expect([200, 401]).toContain(r.status);
    }
    const refused = await post('/v1/wallet/devices/new-activation', c.wallet.accessToken, {
      action: await c.wallet.action('device.new-activation', '9999'),
    });
    expect(refused.status).toBe(429);
    const state = await call<{ pinLocked: boolean }>('GET', `${url}/v1/admin/customers/${c.customerId}`, {
      token: env.net.processors.get('bank-a')!.adminToken,
    });
    // Had the refused eleventh (a wrong PIN) reached the handler, it would have locked the PIN.
    expect(state.body.pinLocked).toBe(false);
  });

  it('enrolment: 10 tries per phone number in 10 minutes, then 429 whatever the code; other numbers go on', async () => {
    const enrol = (phone: string, i: number) =>
      post('/v1/wallet/enrol', undefined, {
        phone,
        activationCode: String(10_000_000 + i),
        devicePublicKey: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) },
        pin: 'a.b.c.d.e',
      }).then((r) => r.status);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push(await enrol('+436641234567', i));
    expect(statuses.slice(0, 10).every((st) => st !== 429)).toBe(true);
    expect(statuses[10]).toBe(429);
    expect(await enrol('+436641234568', 0)).not.toBe(429);
  });
});
