import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectConserved, freshNetwork } from './helpers.js';

describe('recovery after a crash', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  beforeAll(async () => {
    env = await freshNetwork({ transferTtlMs: 20_000 });
  });
  afterAll(async () => env?.close());

  it('payer processor killed (SIGKILL) between reserve and commit: the payment ends committed everywhere', async () => {
    const { ctx, net } = env;
    const c = await ctx.customer('bank-a', 60_00n);
    const m = await ctx.merchant('mno-b');
    const req = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '2500', currency: 'EUR' },
      reference: 'crash',
    });
    const approval = await c.wallet.approval(await c.wallet.resolve(req.qr), '1234');
    const payer = net.processors.get('bank-a')!;
    const payee = net.processors.get('mno-b')!;

    payee.child.kill('SIGSTOP');
    const submitted = c.wallet.submit(approval).catch((e: unknown) => e);
    // Reserved at the payer (available dropped), not yet committed anywhere.
    await expect.poll(async () => (await c.wallet.me()).available.value, { timeout: 20_000 }).toBe('3500');
    await payer.stop('SIGKILL');
    await submitted;
    payee.child.kill('SIGCONT');
    // The hub commits on the payee's fulfil while the payer is down (the merchant sees its request paid);
    // then the payer comes back.
    await expect.poll(async () => (await m.client.request(req.id)).status, { timeout: 20_000 }).toBe('PAID');
    await payer.restart();
    await expect.poll(async () => (await c.wallet.me()).balance.value, { timeout: 20_000 }).toBe('3500');
    await expectConserved(ctx, 20_000);
    const me = await c.wallet.me();
    expect(me).toMatchObject({ balance: { value: '3500' }, available: { value: '3500' } });
    expect((await m.client.request(req.id)).status).toBe('PAID');
    expect(await ctx.merchantBalance(m)).toBe(2500n);
  });

  it('payee processor killed after accepting: committed at the hub, credited to the merchant after restart', async () => {
    const { ctx, net } = env;
    const c = await ctx.customer('bank-a', 30_00n);
    const m = await ctx.merchant('mno-b');
    const req = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '1000', currency: 'EUR' },
      reference: 'crash2',
    });
    const payee = net.processors.get('mno-b')!;
    const paid = await c.wallet.pay(req.qr, '1234');
    // Kill the payee right after the payment committed at the hub; its notification may not have arrived.
    await payee.stop('SIGKILL');
    expect(paid.status).toBe('COMPLETED');
    await payee.restart();
    await expect.poll(() => ctx.merchantBalance(m), { timeout: 20_000 }).toBe(1000n);
    await expectConserved(ctx, 20_000);
  });

  it('hub killed (SIGKILL) with a transfer in flight: after restart it is settled on every node', async () => {
    const { ctx, net } = env;
    const c = await ctx.customer('bank-a', 30_00n);
    const m = await ctx.merchant('mno-b');
    const req = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '700', currency: 'EUR' },
      reference: 'crash3',
    });
    const approval = await c.wallet.approval(await c.wallet.resolve(req.qr), '1234');
    const payee = net.processors.get('mno-b')!;
    payee.child.kill('SIGSTOP');
    const submitted = c.wallet.submit(approval).catch((e: unknown) => e);
    await expect.poll(async () => (await c.wallet.me()).available.value, { timeout: 20_000 }).toBe('2300');
    // The prepare has reached the hub: it holds bank-a's 7.00 for the payee that does not answer.
    const reservedAtHub = async () =>
      (await net.hub.admin.positions()).find((p) => p.processorId === 'bank-a' && p.currency === 'EUR')
        ?.reserved;
    await expect.poll(reservedAtHub, { timeout: 20_000 }).toBe('700');
    await net.hub.stop('SIGKILL');
    await submitted;
    payee.child.kill('SIGCONT');
    await net.hub.restart();
    // Whatever the outcome, it must be the same on every node, and nothing stays reserved.
    await expectConserved(ctx, 40_000);
    const me = await c.wallet.me();
    const merchantGot = await ctx.merchantBalance(m);
    expect(me.available.value).toBe(me.balance.value);
    expect([
      ['3000', 0n],
      ['2300', 700n],
    ]).toContainEqual([me.balance.value, merchantGot]);
  }, 60_000);
});
