import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectConserved, expectPayerOnlyAtOwnProcessor, freshNetwork } from './helpers.js';

// DESIGN §3: the hub and the payee processor never receive the customer's identity or phone number.
describe('anonymity of the payer', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  beforeAll(async () => {
    env = await freshNetwork();
  });
  afterAll(async () => env?.close());

  it('leaves no trace of the payer phone number or name at the hub or the payee processor', async () => {
    const { ctx } = env;
    const payer = await ctx.customer('bank-a', 50_00n, 'Zacharias Quill');
    const m = await ctx.merchant('mno-b', 'Kiosk Nord');
    const req = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '1234', currency: 'EUR' },
      reference: 'anon',
    });
    const paid = await payer.wallet.pay(req.qr, '1234');
    expect(paid.status).toBe('COMPLETED');
    // Also a P2P-style lookup path: resolve by short code.
    const req2 = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '100', currency: 'EUR' },
      reference: 'anon2',
    });
    expect((await payer.wallet.pay(req2.shortCode, '1234')).status).toBe('COMPLETED');
    await expectConserved(ctx);
    // Give the nodes a moment to flush logs and write-behind tables, then stop them so WAL files are complete.
    await env.net.stop();

    expectPayerOnlyAtOwnProcessor(env.dir, payer);
    // The merchant's view of the payment carries no payer data either.
    expect(JSON.stringify(await Promise.resolve(req))).not.toContain(payer.phone);
  });
});
