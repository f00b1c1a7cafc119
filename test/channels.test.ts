/**
 * Sending money from a feature phone across processors: real nodes (hub, bank-a, mno-b) in their own
 * processes, driven through the SMS and USSD gateway webhooks the phone simulator uses.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { codeOf } from '@semops/cli';
import { operatorGateway, type GatewayAnswer } from '@semops/cli/testkit';
import { expectConserved, expectPayerOnlyAtOwnProcessor, freshNetwork } from './helpers.js';

describe('SMS and USSD send money across processors', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  beforeAll(async () => {
    env = await freshNetwork();
  }, 60_000);
  afterAll(async () => env?.close());

  /**
   * Asks until the payee's processor answers for them: a new customer's blinded phone number reaches the hub
   * directory within a sync interval (2 s). An unknown recipient changes nothing, so asking again is safe.
   * `unknown`: how the answer says the number is not known yet.
   */
  async function untilKnown(
    ask: () => Promise<GatewayAnswer>,
    unknown = 'ALIAS_NOT_FOUND',
  ): Promise<GatewayAnswer> {
    return vi.waitFor(
      async () => {
        const a = await ask();
        expect(a.code).not.toBe(unknown);
        return a;
      },
      { timeout: 8000, interval: 200 },
    );
  }

  it('a bank-a customer sends to an mno-b customer by SMS: name before the PIN, money conserved', async () => {
    const { ctx } = env;
    const gw = operatorGateway(ctx, 'bank-a');
    const payer = await ctx.customer('bank-a', 50_00n, 'Anna Berger');
    const payee = await ctx.customer('mno-b', 0n, 'Ben Otieno');

    expect(await gw.smsAnswer(payer.phone, 'SEND +43999000111222 5')).toEqual({
      text: 'No account found for that number or name. Check it and include the country code.',
      code: 'ALIAS_NOT_FOUND',
    });
    const ask = await untilKnown(() => gw.smsAnswer(payer.phone, `SEND ${payee.phone} 12.50`));
    expect(ask).toEqual({
      text: 'Send 12.50 EUR to Ben O.? Reply with your PIN within 2 minutes to approve; ignore this to cancel.',
    });
    const done = await gw.smsAnswer(payer.phone, '1234');
    expect(done.text).toMatch(/^Sent 12\.50 EUR to Ben O\. Receipt rct_\w{26}\. Balance 37\.50 EUR\.$/);
    // The payee's processor books the credit when the hub tells it of the commit.
    await expect.poll(() => payee.wallet.balance(), { timeout: 5000 }).toBe(12_50n);
    expect(await payer.wallet.balance()).toBe(37_50n);

    // The confirmation is used: the same PIN again moves nothing.
    expect((await gw.smsAnswer(payer.phone, '1234')).code).toBe('CONFIRMATION_NOT_FOUND');
    // More than is available is refused before any PIN is asked.
    expect(await gw.smsAnswer(payer.phone, `SEND ${payee.phone} 40`)).toEqual({
      text: 'Not enough money: you have 37.50 EUR available; this needs 40.00 EUR.',
      code: 'INSUFFICIENT_FUNDS',
    });
    expect((await gw.smsAnswer(payer.phone, '1234')).code).toBe('CONFIRMATION_NOT_FOUND');

    expect(await gw.sms(payer.phone, 'MINI')).toMatch(/^Last 2 \(EUR\):\n\d\d\.\d\d -12\.50 To Ben O\.\n/);
    const mini = await operatorGateway(ctx, 'mno-b').sms(payee.phone, 'MINI');
    expect(mini).toMatch(/^Last 1 \(EUR\):\n\d\d\.\d\d \+12\.50 From Bank A$/);
    await expectConserved(ctx);
    expect(await payer.wallet.balance()).toBe(37_50n);
    expect(await payee.wallet.balance()).toBe(12_50n);
  });

  it('an mno-b customer sends to a bank-a customer by USSD; a replayed final step moves nothing', async () => {
    const { ctx } = env;
    const gw = operatorGateway(ctx, 'mno-b');
    const payer = await ctx.customer('mno-b', 30_00n, 'Max Gruber');
    const payee = await ctx.customer('bank-a', 5_00n, 'Eva Schmid');
    const session = `send-${payer.phone}`;
    const found = await untilKnown(() => gw.ussdAnswer(session, payer.phone, `1*${payee.phone}`));
    expect(found).toEqual({ text: 'CON Send to Eva S.\nEnter amount (EUR):\n0 Back' });
    expect(await gw.ussdAnswer(session, payer.phone, `1*${payee.phone}*31`)).toEqual({
      text: 'CON Not enough money: you have 30.00 EUR available; this needs 31.00 EUR.\nSend to Eva S.\nEnter amount (EUR):\n0 Back',
      code: 'INSUFFICIENT_FUNDS',
    });
    expect(await gw.ussdAnswer(session, payer.phone, `1*${payee.phone}*31*7,25`)).toEqual({
      text: 'CON Send 7.25 EUR to Eva S.?\nEnter PIN to approve:\n0 Back',
    });
    const final = `1*${payee.phone}*31*7,25*1234`;
    const done = await gw.ussd(session, payer.phone, final);
    expect(done).toMatch(/^END Sent 7\.25 EUR to Eva S\. Receipt rct_\w{26}\. Balance 22\.75 EUR\.$/);
    expect(await gw.ussd(session, payer.phone, final)).toBe(done);
    await expect.poll(() => payee.wallet.balance(), { timeout: 5000 }).toBe(12_25n);
    await expectConserved(ctx);
    expect(await payer.wallet.balance()).toBe(22_75n);
    expect(await payee.wallet.balance()).toBe(12_25n);
  });

  it('three wrong PINs by SMS and USSD lock the PIN for every channel, the wallet included', async () => {
    const { ctx } = env;
    const gw = operatorGateway(ctx, 'bank-a');
    const payer = await ctx.customer('bank-a', 20_00n);
    const payee = await ctx.customer('mno-b', 0n, 'Ida Payee');
    await untilKnown(() => gw.smsAnswer(payer.phone, `SEND ${payee.phone} 5`));
    expect(await gw.smsAnswer(payer.phone, '9999')).toMatchObject({ code: 'PIN_INVALID' });
    expect(await gw.ussdAnswer(`lock-${payer.phone}`, payer.phone, `1*${payee.phone}*5*9998`)).toEqual({
      text: 'END Wrong PIN; 1 try left.',
      code: 'PIN_INVALID',
    });
    expect(await gw.smsAnswer(payer.phone, '9997')).toMatchObject({ code: 'PIN_LOCKED' });
    const m = await ctx.merchant('mno-b');
    const r = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '100', currency: 'EUR' },
      reference: 'after-lock',
    });
    expect(await codeOf(payer.wallet.pay(r.shortCode, '1234'))).toBe('PIN_LOCKED');
    await expectConserved(ctx);
    expect(await payer.wallet.balance()).toBe(20_00n);
    expect(await payee.wallet.balance()).toBe(0n);
  });

  it('by SMS, airtime from another operator and a request for money from another processor', async () => {
    const { ctx } = env;
    const gw = operatorGateway(ctx, 'bank-a');
    const payer = await ctx.customer('bank-a', 30_00n, 'Paul Wagner');
    const mobile = await ctx.customer('mno-b', 0n, 'Max Gruber');
    // Airtime is sold by the operator serving the phone, found through the hub directory: a bank sells none.
    const bought = await untilKnown(
      () => gw.smsAnswer(payer.phone, `AIRTIME ${mobile.phone} 5`),
      'AIRTIME_NOT_AVAILABLE',
    );
    expect(bought.text).toMatch(/^Buy 5\.00 EUR airtime for \+\d+\? Reply with your PIN/);
    expect((await gw.smsAnswer(payer.phone, '1234')).text).toMatch(
      /^Bought 5\.00 EUR airtime for \+\d+\. Receipt/,
    );
    expect(await gw.smsAnswer(payer.phone, 'AIRTIME 5')).toEqual({
      text: 'No mobile operator on the network serves that number.',
      code: 'AIRTIME_NOT_AVAILABLE',
    });
    // Max (at mno-b) asks Paul (at bank-a) for money; Paul pays it from the SMS inbox.
    await vi.waitFor(
      () => mobile.wallet.requestMoney(payer.phone, { value: '700', currency: 'EUR' }, 'lunch'),
      {
        timeout: 8000,
        interval: 200,
      },
    );
    expect(await gw.sms(payer.phone, 'INBOX')).toBe(
      'Requests to pay:\n1 7.00 EUR Max G. lunch\nReply ACCEPT <n> to pay or DECLINE <n>.',
    );
    expect(await gw.sms(payer.phone, 'ACCEPT 1')).toMatch(/^Send 7\.00 EUR to Max G\.\? Reply with your PIN/);
    expect(await gw.sms(payer.phone, '1234')).toMatch(/^Sent 7\.00 EUR to Max G\. Receipt rct_/);
    await expect.poll(() => mobile.wallet.balance(), { timeout: 5000 }).toBe(7_00n);
    expect(await gw.sms(payer.phone, 'INBOX')).toBe('No requests to pay.');
    await expectConserved(ctx);
    expect(await payer.wallet.balance()).toBe(18_00n);
  });

  it('a blocked payer is told so; the payer leaves no trace at the hub or the payee processor', async () => {
    const { ctx } = env;
    const gw = operatorGateway(ctx, 'bank-a');
    const payer = await ctx.customer('bank-a', 10_00n, 'Quirinus Zebulon');
    const payee = await ctx.customer('mno-b', 0n, 'Olga Payee');
    await untilKnown(() => gw.smsAnswer(payer.phone, `SEND ${payee.phone} 4`));
    expect((await gw.smsAnswer(payer.phone, '1234')).text).toMatch(/^Sent 4\.00 EUR to Olga P\./);
    await expect.poll(() => payee.wallet.balance(), { timeout: 5000 }).toBe(4_00n);
    expect((await gw.smsAnswer(payer.phone, 'BLOCK')).text).toMatch(/blocked on every channel/);
    expect(await gw.smsAnswer(payer.phone, `SEND ${payee.phone} 1`)).toEqual({
      text: 'Your account is blocked. Please contact your provider.',
      code: 'ACCOUNT_BLOCKED',
    });
    await expectConserved(ctx);
    await env.net.stop();
    expectPayerOnlyAtOwnProcessor(env.dir, payer);
  });
});
