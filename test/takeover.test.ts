import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wallet, call, operatorMain } from '@semops/cli';
import { ACTION_TYP, generateSigningKeys, importSigningKey, randomToken, signJson } from '@semops/protocol';
import { expectCode, freshNetwork } from './helpers.js';

/**
 * An attacker who holds one thing — a wallet's access token, or an activation code — cannot set a PIN, enrol a
 * device, change limits or an alias, or pay: every such change needs the current PIN in a request signed by the
 * enrolled device (or an operator's reset).
 */
describe('account takeover with a stolen token or activation code', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let url: string;
  let admin: string;

  beforeAll(async () => {
    env = await freshNetwork();
    const p = env.net.processors.get('bank-a')!;
    url = p.url;
    admin = p.admin.token;
  }, 60_000);
  afterAll(async () => env?.close());

  const state = async (customerId: string) =>
    (
      await call<{ pinLocked: boolean; balance: string }>('GET', `${url}/v1/admin/customers/${customerId}`, {
        token: admin,
      })
    ).body;

  /** An action signed by a key that is not the device's, naming the victim's device. */
  async function forged(victim: Wallet, action: string, params: Record<string, unknown>) {
    const attacker = await generateSigningKeys();
    const payload = {
      deviceId: victim.deviceId,
      action,
      nonce: randomToken(16),
      expiresAt: Date.now() + 60_000,
      pin: await victim.sealPin('0000'),
      params,
    };
    return signJson(payload, await importSigningKey(attacker.privateJwk), victim.deviceId, ACTION_TYP);
  }

  it('a bearer token alone gets no activation code, PIN change, limits or alias', async () => {
    const c = await env.ctx.customer('bank-a', 50_00n);
    const token = c.wallet.accessToken;
    const before = await state(c.customerId);
    const na = `${url}/v1/wallet/devices/new-activation`;
    await expectCode(call('POST', na, { token }), 400, 'VALIDATION_FAILED');
    await expectCode(call('POST', na, { token, body: {} }), 400, 'VALIDATION_FAILED');
    await expectCode(
      call('POST', na, { token, body: { action: await forged(c.wallet, 'device.new-activation', {}) } }),
      401,
      'APPROVAL_INVALID',
    );
    // Signed by the device but for another action: refused.
    await expectCode(
      call('POST', na, {
        token,
        body: { action: await c.wallet.action('alias.set', '1234', { alias: 'x1' }) },
      }),
      401,
      'APPROVAL_INVALID',
    );
    const pinUrl = `${url}/v1/wallet/pin`;
    await expectCode(
      call('POST', pinUrl, {
        token,
        body: { action: await forged(c.wallet, 'pin.change', { new: await c.wallet.sealPin('0000') }) },
      }),
      401,
      'APPROVAL_INVALID',
    );
    await expectCode(
      call('PUT', `${url}/v1/wallet/limits`, { token, body: { daily: '100000' } }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', `${url}/v1/wallet/alias`, { token, body: { alias: 'thief' } }),
      400,
      'VALIDATION_FAILED',
    );
    // Nothing counted, nothing changed: the customer still pays with the PIN they set.
    expect(await state(c.customerId)).toEqual(before);
    const m = await env.ctx.merchant('mno-b');
    const r = await m.client.createRequest({
      amount: { value: '100', currency: 'EUR' },
      currency: 'EUR',
      reference: 'still-mine',
    });
    const paid = await c.wallet.pay(r.shortCode, '1234');
    await expect
      .poll(async () => (await c.wallet.payment(paid.paymentId)).status, { timeout: 20_000 })
      .toBe('COMPLETED');
  });

  it('a signed action needs the current PIN, counts wrong tries and is accepted once', async () => {
    const c = await env.ctx.customer('bank-a', 0n);
    const token = c.wallet.accessToken;
    const na = `${url}/v1/wallet/devices/new-activation`;
    await expectCode(
      call('POST', na, { token, body: { action: await c.wallet.action('device.new-activation', '9999') } }),
      401,
      'PIN_INVALID',
    );
    const action = await c.wallet.action('device.new-activation', '1234');
    const ok = await call<{ activationCode: string }>('POST', na, { token, body: { action } });
    expect(ok.status).toBe(200);
    expect(ok.body.activationCode).toMatch(/^\d{8}$/);
    await expectCode(call('POST', na, { token, body: { action } }), 409, 'APPROVAL_REPLAYED');
    await expectCode(
      call('POST', na, {
        token,
        body: {
          action: await c.wallet.action('device.new-activation', '1234', {}, { expiresAt: Date.now() - 1 }),
        },
      }),
      400,
      'APPROVAL_EXPIRED',
    );
    // The right PIN cleared the count; three wrong ones in a row lock it.
    for (let i = 0; i < 3; i++) {
      await call('POST', na, {
        token,
        body: { action: await c.wallet.action('device.new-activation', '9999') },
      });
    }
    expect((await state(c.customerId)).pinLocked).toBe(true);
    await expectCode(
      call('POST', na, { token, body: { action: await c.wallet.action('device.new-activation', '1234') } }),
      423,
      'PIN_LOCKED',
    );
  });

  it('re-enrolling keeps the PIN and its lock; only an operator reset sets a new PIN', async () => {
    const c = await env.ctx.customer('bank-a', 30_00n);
    const newCode = async (resetPin?: boolean) =>
      (
        await call<{ activationCode: string }>(
          'POST',
          `${url}/v1/admin/customers/${c.customerId}/activation`,
          {
            token: admin,
            ...(resetPin === undefined ? {} : { body: { resetPin } }),
          },
        )
      ).body.activationCode;

    // An activation code with a new PIN does not replace the PIN.
    const code = await newCode();
    await expect(Wallet.enrol(url, c.phone, code, '0000')).rejects.toMatchObject({ code: 'PIN_INVALID' });
    // The same code with the current PIN enrols a second device; the customer is told by SMS.
    const second = await Wallet.enrol(url, c.phone, code, '1234');
    expect(second.customerId).toBe(c.customerId);
    const sms = await call<{ messages: Array<{ text: string; phone: string }> }>(
      'GET',
      `${url}/v1/admin/sms?to=${encodeURIComponent(c.phone)}`,
      { token: admin },
    );
    expect(sms.body.messages.some((m) => m.text.includes('new phone was set up'))).toBe(true);

    // Locked: a new activation code does not unlock it, even with the right PIN.
    for (let i = 0; i < 3; i++) {
      await call('POST', `${url}/v1/wallet/devices/new-activation`, {
        token: c.wallet.accessToken,
        body: { action: await c.wallet.action('device.new-activation', '9999') },
      });
    }
    expect((await state(c.customerId)).pinLocked).toBe(true);
    const afterLock = await newCode();
    await expect(Wallet.enrol(url, c.phone, afterLock, '1234')).rejects.toMatchObject({ code: 'PIN_LOCKED' });
    await expect(Wallet.enrol(url, c.phone, afterLock, '0000')).rejects.toMatchObject({ code: 'PIN_LOCKED' });
    expect((await state(c.customerId)).pinLocked).toBe(true);

    // The operator's reset (after checking the customer's identity) clears the PIN: the next enrolment sets it.
    const reset = await newCode(true);
    expect((await state(c.customerId)).pinLocked).toBe(false);
    const fresh = await Wallet.enrol(url, c.phone, reset, '5678');
    const m = await env.ctx.merchant('mno-b');
    const r1 = await m.client.createRequest({
      amount: { value: '250', currency: 'EUR' },
      currency: 'EUR',
      reference: 'old-pin',
    });
    await expect(fresh.pay(r1.shortCode, '1234')).rejects.toMatchObject({ code: 'PIN_INVALID' });
    const paid = await fresh.pay(r1.shortCode, '5678');
    await expect
      .poll(async () => (await fresh.payment(paid.paymentId)).status, { timeout: 20_000 })
      .toBe('COMPLETED');
  });

  it('a stolen token cannot pay: the approval must be signed by the device', async () => {
    const c = await env.ctx.customer('bank-a', 20_00n);
    const m = await env.ctx.merchant('mno-b');
    const r = await m.client.createRequest({
      amount: { value: '500', currency: 'EUR' },
      currency: 'EUR',
      reference: 'theft',
    });
    const resolved = await c.wallet.resolve(r.shortCode);
    const attacker = await generateSigningKeys();
    const approval = await signJson(
      {
        deviceId: c.wallet.deviceId,
        requestId: resolved.requestId,
        payee: resolved.processorId,
        amount: resolved.amount,
        nonce: randomToken(16),
        expiresAt: Date.now() + 60_000,
        pin: await c.wallet.sealPin('1234'),
      },
      await importSigningKey(attacker.privateJwk),
      c.wallet.deviceId,
      'semops-approval+jws',
    );
    await expectCode(
      call('POST', `${url}/v1/wallet/payments`, { token: c.wallet.accessToken, body: { approval } }),
      401,
      'APPROVAL_INVALID',
    );
    expect((await state(c.customerId)).balance).toBe('2000');
  });
});

/** A lost phone: one block, from any channel, stops every channel until the operator lifts it. */
describe('a block stops every channel', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let gateway: { 'x-gateway-token': string };
  let url: string;
  let admin: string;

  beforeAll(async () => {
    env = await freshNetwork();
    const p = env.net.processors.get('bank-a')!;
    url = p.url;
    admin = p.admin.token;
    gateway = {
      'x-gateway-token': readFileSync(join(p.dataDir, 'secrets', 'sms-gateway-token.secret'), 'utf8').trim(),
    };
  }, 60_000);
  afterAll(async () => env?.close());

  const sms = async (from: string, text: string) =>
    (
      await call<{ replies: string[] }>('POST', `${url}/v1/channels/sms/inbound`, {
        headers: gateway,
        body: { from, to: '22555', text },
      })
    ).body.replies[0] ?? '';
  const ussd = async (sessionId: string, phoneNumber: string, text: string) =>
    (
      await call<string>('POST', `${url}/v1/channels/ussd`, {
        headers: gateway,
        body: { sessionId, serviceCode: '*384#', phoneNumber, text },
      })
    ).body;

  /** Every way this customer could pay: each must be refused, and the balance must not move. */
  async function expectEveryChannelRefused(c: { wallet: Wallet; phone: string; customerId: string }) {
    const m = await env.ctx.merchant('mno-b');
    const r = await m.client.createRequest({
      amount: { value: '300', currency: 'EUR' },
      currency: 'EUR',
      reference: 'after-block',
    });
    await expect(c.wallet.pay(r.shortCode, '1234')).rejects.toMatchObject({ code: 'DEVICE_BLOCKED' });
    expect(await sms(c.phone, `PAY ${r.shortCode}`)).toMatch(/blocked/);
    expect(await sms(c.phone, '1234')).toMatch(/blocked/);
    expect(await ussd(`s-${randomToken(8)}`, c.phone, `2*${r.shortCode}*1234`)).toMatch(/^END .*blocked/);
    expect((await m.client.request(r.id)).status).toBe('OPEN');
  }

  it('SMS BLOCK, the USSD menu, the wallet and the operator each block the wallet, SMS and USSD', async () => {
    const ways: Array<[string, (c: { wallet: Wallet; phone: string; customerId: string }) => Promise<void>]> =
      [
        [
          'sms',
          async (c) => {
            expect(await sms(c.phone, 'BLOCK')).toMatch(/blocked on every channel/);
          },
        ],
        [
          'ussd',
          async (c) => {
            const id = `s-${randomToken(8)}`;
            expect(await ussd(id, c.phone, '7')).toMatch(/^CON Block your account/);
            expect(await ussd(id, c.phone, '7*1')).toMatch(/^END Your account is now blocked/);
          },
        ],
        [
          'wallet',
          async (c) => {
            const r = await call('POST', `${url}/v1/wallet/device/block`, { token: c.wallet.accessToken });
            expect(r.status).toBe(200);
          },
        ],
        [
          'operator',
          async (c) => {
            expect((await call('POST', `${url}/v1/admin/customers/${c.customerId}/block`)).status).toBe(401);
            const r = await call('POST', `${url}/v1/admin/customers/${c.customerId}/block`, { token: admin });
            expect(r.status).toBe(200);
          },
        ],
      ];
    for (const [, block] of ways) {
      const c = await env.ctx.customer('bank-a', 20_00n);
      // An SMS payment waiting for its PIN is dropped by the block, too.
      const m = await env.ctx.merchant('mno-b');
      const waiting = await m.client.createRequest({
        amount: { value: '100', currency: 'EUR' },
        currency: 'EUR',
        reference: 'waiting',
      });
      expect(await sms(c.phone, `PAY ${waiting.shortCode}`)).toMatch(/PIN/);
      await block(c);
      await expectEveryChannelRefused(c);
      expect((await m.client.request(waiting.id)).status).toBe('OPEN');
      await expect(c.wallet.balance()).rejects.toMatchObject({ code: 'DEVICE_BLOCKED' });
      const after = await call<{ balance: string }>('GET', `${url}/v1/admin/customers/${c.customerId}`, {
        token: admin,
      });
      expect(after.body.balance).toBe('2000');
    }
  });

  it('the operator CLI blocks, unblocks, unlocks and resets the PIN by phone number or customer id', async () => {
    const c = await env.ctx.customer('bank-a', 12_00n, 'Olga Operator');
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: {} };
    const semops = (...args: string[]) => operatorMain('customers', [...args, '--dir', env.dir], io);

    expect(await semops('block', 'bank-a', c.phone)).toBe(0);
    expect(out.join('')).toMatch(/Olga Operator .*: blocked; balance 12\.00 EUR/);
    expect(await sms(c.phone, 'BAL')).toMatch(/blocked/);
    expect(await semops('unblock', 'bank-a', c.customerId)).toBe(0);
    expect(await sms(c.phone, 'BAL')).toMatch(/Balance 12\.00 EUR/);

    // Three wrong PINs (USSD change PIN) lock it; the operator unlocks it.
    for (let i = 0; i < 3; i++) await ussd(`s-${randomToken(8)}`, c.phone, '6*9999*1111*1111');
    out.length = 0;
    expect(await semops('show', 'bank-a', c.phone)).toBe(0);
    expect(out.join('')).toContain('PIN locked');
    out.length = 0;
    expect(await semops('unlock', 'bank-a', c.phone)).toBe(0);
    expect(out.join('')).toMatch(/: active; balance 12\.00 EUR/);

    // A PIN reset prints the code with which the next phone sets a new PIN.
    out.length = 0;
    expect(await semops('reset-pin', 'bank-a', c.phone, '--json')).toBe(0);
    const { activationCode } = JSON.parse(out.join('')) as { activationCode: string };
    const phone2 = await Wallet.enrol(url, c.phone, activationCode, '8642');
    const m = await env.ctx.merchant('mno-b');
    const r = await m.client.createRequest({
      amount: { value: '200', currency: 'EUR' },
      currency: 'EUR',
      reference: 'after-reset',
    });
    const paid = await phone2.pay(r.shortCode, '8642');
    await expect
      .poll(async () => (await phone2.payment(paid.paymentId)).status, { timeout: 20_000 })
      .toBe('COMPLETED');

    // Bad input: exit 2, nothing sent; an unknown customer: exit 1 with the code.
    expect(await semops('block', 'bank-a', 'anna')).toBe(2);
    expect(await semops('freeze', 'bank-a', c.phone)).toBe(2);
    expect(await semops('block', 'bank-a', '+436649999999')).toBe(1);
    expect(err.join('')).toContain('CUSTOMER_NOT_FOUND');
  });

  it('only the operator lifts a block; the customer then enrols again with the same PIN', async () => {
    const c = await env.ctx.customer('bank-a', 20_00n);
    expect(await sms(c.phone, 'BLOCK')).toMatch(/blocked/);
    const code = await call<{ activationCode: string }>(
      'POST',
      `${url}/v1/admin/customers/${c.customerId}/activation`,
      { token: admin },
    );
    await expect(Wallet.enrol(url, c.phone, code.body.activationCode, '1234')).rejects.toMatchObject({
      code: 'ACCOUNT_BLOCKED',
    });
    expect((await call('POST', `${url}/v1/admin/customers/${c.customerId}/unblock`)).status).toBe(401);
    const r = await call('POST', `${url}/v1/admin/customers/${c.customerId}/unblock`, { token: admin });
    expect(r.status).toBe(200);
    const again = await Wallet.enrol(url, c.phone, code.body.activationCode, '1234');
    const m = await env.ctx.merchant('mno-b');
    const req = await m.client.createRequest({
      amount: { value: '150', currency: 'EUR' },
      currency: 'EUR',
      reference: 'unblocked',
    });
    const paid = await again.pay(req.shortCode, '1234');
    await expect
      .poll(async () => (await again.payment(paid.paymentId)).status, { timeout: 20_000 })
      .toBe('COMPLETED');
    // The old device stays blocked.
    await expect(c.wallet.balance()).rejects.toMatchObject({ code: 'DEVICE_BLOCKED' });
  });
});
