import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SCREEN } from '../text.js';
import { startTestNode, type TestNode } from '../testing.js';

/** A PIN whose digits appear in nothing else the test writes (amounts, codes, ids, times). */
const PIN = '580417';

let t: TestNode;
let shop: { apiKey: string };
beforeAll(async () => {
  t = await startTestNode();
  shop = await t.merchant('Café Central');
});
afterAll(async () => {
  await t.close();
});

type Sms = { direction: 'in' | 'out'; phone: string; text: string };
async function stored(phone?: string): Promise<Sms[]> {
  const q = phone ? `?phone=${encodeURIComponent(phone)}&limit=500` : '?limit=500';
  return (await t.call<{ messages: Sms[] }>('GET', `/v1/admin/sms${q}`, { token: t.node.adminToken })).body
    .messages;
}

/** Every file under a directory, as bytes (database, WAL, logs, secrets). */
function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [readFileSync(p)];
  });
}

describe('SMS payment: PAY <code> then PIN', () => {
  it('resolves, asks for the PIN in a separate message, pays once and leaves no PIN behind', async () => {
    const c = await t.customer(100_00n, PIN);
    const req = await t.request(shop.apiKey, { amount: { value: '1250', currency: 'EUR' } });

    const ask = await t.sms(c.phone, `PAY ${req.shortCode}`, 'gw-1');
    expect(ask).toMatch(
      /^Pay 12\.50 EUR to Cafe Central, Wien \(ref order-1\)\? Reply with your PIN within 2 minutes/,
    );
    expect(await t.balance(c.id)).toBe(100_00n);

    const done = await t.sms(c.phone, PIN, 'gw-2');
    expect(done).toMatch(
      /^Paid 12\.50 EUR to Cafe Central, Wien\. Receipt rct_\w{26}\. Balance 87\.50 EUR\.$/,
    );
    expect(await t.balance(c.id)).toBe(87_50n);
    expect(await t.requestStatus(shop.apiKey, req.id)).toBe('PAID');

    // The same PIN again (or the gateway retrying the message) pays nothing more.
    expect(await t.sms(c.phone, PIN, 'gw-3')).toMatch(/No payment is waiting for your PIN/);
    const retry = await t.call<{ duplicate: boolean }>('POST', '/v1/channels/sms/inbound', {
      headers: { 'x-gateway-token': t.gatewayToken },
      body: { from: c.phone, to: '22555', text: PIN, id: 'gw-2' },
    });
    expect(retry.body.duplicate).toBe(true);
    expect(await t.balance(c.id)).toBe(87_50n);

    const texts = await stored(c.phone);
    expect(texts.map((m) => `${m.direction} ${m.text.slice(0, 12)}`).reverse()).toEqual([
      `in PAY ${req.shortCode.slice(0, 8)}`,
      'out Pay 12.50 EU',
      'in ****',
      'out Paid 12.50 E',
      'in ****',
      'out No payment i',
    ]);
    for (const m of texts) {
      expect(m.text).not.toContain(PIN);
      expect([...m.text].length).toBeLessThanOrEqual(MAX_SCREEN);
    }
    for (const bytes of filesUnder(t.dir)) expect(bytes.includes(PIN)).toBe(false);
  });

  it('lets the payer enter the amount within the range, and refuses one outside it', async () => {
    const c = await t.customer(50_00n);
    const req = await t.request(shop.apiKey, {
      minAmount: { value: '100', currency: 'EUR' },
      maxAmount: { value: '2000', currency: 'EUR' },
      reusable: true,
    });
    expect(await t.sms(c.phone, `PAY ${req.shortCode}`)).toBe(
      `Cafe Central, Wien lets you choose the amount (1.00-20.00 EUR). Send PAY ${req.shortCode} <amount>.`,
    );
    expect(await t.sms(c.phone, `PAY ${req.shortCode} 25`)).toBe('The amount must be 1.00-20.00 EUR.');
    expect(await t.sms(c.phone, '1234')).toMatch(/No payment is waiting/);
    const code = `${req.shortCode.slice(0, 3)} ${req.shortCode.slice(3, 6)} ${req.shortCode.slice(6)}`;
    expect(await t.sms(c.phone, `pay ${code} 4,50`)).toMatch(/^Pay 4\.50 EUR to Cafe Central/);
    expect(await t.sms(c.phone, '1234')).toMatch(/^Paid 4\.50 EUR/);
    expect(await t.balance(c.id)).toBe(45_50n);
  });

  it('keeps the confirmation after a wrong PIN, and locks the PIN after three', async () => {
    const c = await t.customer(30_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '500', currency: 'EUR' } });
    await t.sms(c.phone, `PAY ${req.shortCode}`);
    expect(await t.sms(c.phone, '9999')).toBe(
      'Wrong PIN; 2 tries left. Reply with your PIN again, or ignore this message to cancel.',
    );
    expect(await t.sms(c.phone, '1234')).toMatch(/^Paid 5\.00 EUR/);

    const other = await t.request(shop.apiKey, { amount: { value: '500', currency: 'EUR' } });
    await t.sms(c.phone, `PAY ${other.shortCode}`);
    await t.sms(c.phone, '9999');
    await t.sms(c.phone, '9998');
    expect(await t.sms(c.phone, '9997')).toMatch(/PIN is locked/);
    expect(await t.sms(c.phone, '1234')).toMatch(/No payment is waiting/);
    expect(await t.balance(c.id)).toBe(25_00n);
    expect(await t.requestStatus(shop.apiKey, other.id)).toBe('OPEN');
  });

  it('lets a confirmation expire after two minutes without checking the PIN', async () => {
    const c = await t.customer(30_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '700', currency: 'EUR' } });
    await t.sms(c.phone, `PAY ${req.shortCode}`);
    t.advance(2 * 60_000 + 1);
    expect(await t.sms(c.phone, '1234')).toBe(
      'Your confirmation expired; nothing was paid. Send your command again.',
    );
    expect(await t.balance(c.id)).toBe(30_00n);
    // The PIN was not tried, so no attempt was counted: three wrong tries still leave the third to lock.
    await t.sms(c.phone, `PAY ${req.shortCode}`);
    expect(await t.sms(c.phone, '9999')).toMatch(/2 tries left/);
    expect(await t.sms(c.phone, '1234')).toMatch(/^Paid 7\.00 EUR/);
  });

  it('answers BAL, MINI and HELP', async () => {
    const c = await t.customer(20_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '350', currency: 'EUR' } });
    await t.sms(c.phone, `PAY ${req.shortCode}`);
    await t.sms(c.phone, '1234');
    expect(await t.sms(c.phone, 'BAL')).toBe('Balance 16.50 EUR.');
    const mini = await t.sms(c.phone, 'mini');
    expect(mini).toMatch(/^Last 2 \(EUR\):\n\d\d\.\d\d -3\.50 Cafe Central\n\d\d\.\d\d \+20\.00 Deposit$/);
    const help = await t.sms(c.phone, 'HELP');
    expect(help).toMatch(/^PAY <code> \[amount\], SEND <phone> <amount>, BILL .*PIN only when asked\.$/);
    expect([...help].length).toBeLessThanOrEqual(MAX_SCREEN);
    expect(await t.balance(c.id)).toBe(16_50n);
  });

  it('answers garbage, unknown numbers and bad codes clearly, and changes nothing', async () => {
    const c = await t.customer(10_00n);
    const before = await t.balance(c.id);
    const replies = await Promise.all(
      ['', 'hello', 'PAY', 'PAY 1234567890', 'PAY 2029999990', 'SEND bob 5', 'BAL please', 'PAY abc 1 2'].map(
        (text) => t.sms(c.phone, text),
      ),
    );
    expect(replies).toEqual([
      'Sorry, we did not understand that. Send HELP for the commands.',
      'Sorry, we did not understand that. Send HELP for the commands.',
      'To pay, send PAY <code> or PAY <code> <amount>, e.g. PAY 2020000171 5.50',
      'That payment code is not valid. Check the 10 digits and try again.',
      expect.stringMatching(/payment code is not valid|No payment matches that code/),
      'To send money, send SEND <phone or name@provider> <amount>, e.g. SEND +43660123456 10',
      'Sorry, we did not understand that. Send HELP for the commands.',
      'To pay, send PAY <code> or PAY <code> <amount>, e.g. PAY 2020000171 5.50',
    ]);
    expect(await t.sms(c.phone, '1234')).toMatch(/No payment is waiting/);
    expect(await t.balance(c.id)).toBe(before);

    expect(await t.sms('+43699000111', 'BAL')).toBe(
      'This number has no account here. Ask your bank or mobile operator to open one.',
    );
    expect(await t.sms('+43699000111', '1234')).toMatch(/no account here/);
    expect((await stored('+43699000111')).find((m) => m.direction === 'in' && m.text !== 'BAL')?.text).toBe(
      '****',
    );
  });

  it('takes form bodies (Twilio field names) and refuses calls without the gateway token', async () => {
    const c = await t.customer(5_00n);
    const form = new URLSearchParams({ From: c.phone, To: '22555', Body: 'BAL', MessageSid: 'SM1' });
    const ok = await t.call<{ replies: string[] }>('POST', '/v1/channels/sms/inbound', {
      headers: { 'x-gateway-token': t.gatewayToken, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(ok.body.replies).toEqual(['Balance 5.00 EUR.']);

    const count = (await stored()).length;
    for (const headers of [{}, { 'x-gateway-token': 'wrong' }] as Array<Record<string, string>>) {
      const r = await t.call<{ error: { code: string } }>('POST', '/v1/channels/sms/inbound', {
        headers,
        body: { from: c.phone, to: '22555', text: 'BAL' },
      });
      expect([r.status, r.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    }
    const bad = await t.call<{ error: { code: string } }>('POST', '/v1/channels/sms/inbound', {
      headers: { 'x-gateway-token': t.gatewayToken },
      body: { from: 'nobody', to: '22555', text: 'BAL' },
    });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await stored()).length).toBe(count);

    const list = await t.call('GET', '/v1/admin/sms');
    expect(list.status).toBe(401);
    const outbound = await t.call<{ messages: Sms[] }>(
      'GET',
      `/v1/admin/sms?to=${encodeURIComponent(c.phone)}`,
      { token: t.node.adminToken },
    );
    expect(outbound.body.messages.map((m) => [m.direction, m.text])).toEqual([['out', 'Balance 5.00 EUR.']]);
  });

  it('refunds show as refunds in MINI, and payments with the merchant', async () => {
    const c = await t.customer(20_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '600', currency: 'EUR' } });
    await t.sms(c.phone, `PAY ${req.shortCode}`);
    expect(await t.sms(c.phone, '1234')).toMatch(/^Paid 6\.00 EUR/);
    const paid = await t.call<{ payments: Array<{ paymentId: string }> }>('GET', '/v1/wallet/payments', {
      token: c.token,
    });
    const refund = await t.call<{ status: string }>(
      'POST',
      `/v1/payments/${paid.body.payments[0]!.paymentId}/refunds`,
      { token: shop.apiKey, body: { amount: { value: '250', currency: 'EUR' } } },
    );
    expect(refund.body.status).toBe('COMPLETED');
    expect(await t.sms(c.phone, 'MINI')).toMatch(
      /^Last 3 \(EUR\):\n\d\d\.\d\d \+2\.50 Refund Cafe Central\n\d\d\.\d\d -6\.00 Cafe Central\n\d\d\.\d\d \+20\.00 Deposit$/,
    );
  });

  it('sent every answer above in one SMS (160 characters) and never a PIN', async () => {
    const sent = (await stored()).filter((m) => m.direction === 'out');
    expect(sent.length).toBeGreaterThan(30);
    for (const m of sent) {
      expect([...m.text].length).toBeLessThanOrEqual(MAX_SCREEN);
      expect(m.text).not.toMatch(/(^|\D)(1234|580417|999\d)(\D|$)/);
    }
  });
});

describe('SMS send money: SEND <phone|name@processor> <amount> then PIN', () => {
  /** What the webhook answered: the text and the stable code of a failure. */
  const answer = (from: string, text: string, id?: string) => t.smsAnswer(from, text, id);

  it('shows the payee by the name their processor allows, asks for the PIN, and moves the money once', async () => {
    const payer = await t.customer(100_00n, PIN, 'EUR', 'Anna Berger');
    const payee = await t.customer(3_00n, '1234', 'EUR', 'Ben Otieno');

    const ask = await answer(
      payer.phone,
      `send ${payee.phone.slice(0, 4)} ${payee.phone.slice(4)} 12,5`,
      'p2p-1',
    );
    expect(ask).toEqual({
      text: 'Send 12.50 EUR to Ben O.? Reply with your PIN within 2 minutes to approve; ignore this to cancel.',
    });
    expect(await t.balance(payer.id)).toBe(100_00n);

    const done = await answer(payer.phone, PIN, 'p2p-2');
    expect(done.text).toMatch(/^Sent 12\.50 EUR to Ben O\. Receipt rct_\w{26}\. Balance 87\.50 EUR\.$/);
    expect(done.code).toBeUndefined();
    // Money is conserved: the payer is debited and the payee credited by exactly the amount.
    expect(await t.balance(payer.id)).toBe(87_50n);
    expect(await t.balance(payee.id)).toBe(15_50n);

    // A replayed confirmation (the same PIN again, or the gateway retrying the message) moves nothing.
    expect(await answer(payer.phone, PIN, 'p2p-3')).toEqual({
      text: 'No payment is waiting for your PIN. To pay, send PAY <code>; to send, SEND <phone> <amount>.',
      code: 'CONFIRMATION_NOT_FOUND',
    });
    const retry = await t.call<{ duplicate: boolean }>('POST', '/v1/channels/sms/inbound', {
      headers: { 'x-gateway-token': t.gatewayToken },
      body: { from: payer.phone, to: '22555', text: PIN, id: 'p2p-2' },
    });
    expect(retry.body.duplicate).toBe(true);
    expect(await t.balance(payer.id)).toBe(87_50n);
    expect(await t.balance(payee.id)).toBe(15_50n);

    // Each side's mini statement names the other.
    expect(await t.sms(payer.phone, 'MINI')).toMatch(/^Last 2 \(EUR\):\n\d\d\.\d\d -12\.50 To Ben O\.\n/);
    expect(await t.sms(payee.phone, 'MINI')).toMatch(/^Last 2 \(EUR\):\n\d\d\.\d\d \+12\.50 From Anna B\.\n/);
  });

  it('sends to a name@processor address', async () => {
    const payer = await t.customer(10_00n);
    const payee = await t.customer(0n, '1234', 'EUR', 'Lisa Maria Huber');
    const set = await t.call('POST', '/v1/wallet/alias', {
      token: payee.token,
      body: { action: await payee.action('alias.set', { alias: 'lisa.h' }, '1234') },
    });
    expect(set.status).toBe(200);
    expect((await answer(payer.phone, 'SEND Lisa.H@mno-b 2')).text).toMatch(/^Send 2\.00 EUR to Lisa H\.\?/);
    expect((await answer(payer.phone, '1234')).text).toMatch(/^Sent 2\.00 EUR to Lisa H\./);
    expect(await t.balance(payee.id)).toBe(2_00n);
  });

  it('says before the PIN when the balance or a limit will not cover it, and asks for no PIN', async () => {
    const payer = await t.customer(3_00n);
    const payee = await t.customer(0n, '1234', 'EUR', 'Ben Otieno');
    expect(await answer(payer.phone, `SEND ${payee.phone} 5`)).toEqual({
      text: 'Not enough money: you have 3.00 EUR available; this needs 5.00 EUR.',
      code: 'INSUFFICIENT_FUNDS',
    });
    // No confirmation waits, and the PIN counter is not touched.
    expect((await answer(payer.phone, '9999')).code).toBe('CONFIRMATION_NOT_FOUND');
    expect((await answer(payer.phone, `SEND ${payee.phone} 3`)).text).toMatch(/^Send 3\.00 EUR to Ben O\./);
    expect((await answer(payer.phone, '1234')).text).toMatch(/^Sent 3\.00 EUR/);

    // An e-money account of tier 0 may send at most 50.00 EUR at a time.
    const rich = await t.customer(120_00n);
    await t.call('POST', `/v1/admin/customers/${rich.id}/tier`, {
      token: t.node.adminToken,
      body: { kind: 'emoney', tier: 0 },
    });
    expect(await answer(rich.phone, `SEND ${payee.phone} 60`)).toEqual({
      text: 'This exceeds your per-transaction limit of 50.00 EUR; 50.00 EUR remains.',
      code: 'LIMIT_EXCEEDED',
    });
    expect(await t.balance(rich.id)).toBe(120_00n);
    expect(await t.balance(payee.id)).toBe(3_00n);
  });

  it('answers an unknown recipient, oneself, blocked accounts and bad amounts clearly, moving nothing', async () => {
    const payer = await t.customer(20_00n);
    const payee = await t.customer(0n, '1234', 'EUR', 'Ben Otieno');
    const cases: Array<[string, string, string]> = [
      [
        'SEND nobody@mno-b 5',
        'No account found for that number or name. Check it and include the country code.',
        'ALIAS_NOT_FOUND',
      ],
      [`SEND ${payer.phone} 5`, 'You cannot send money to yourself.', 'VALIDATION_FAILED'],
      [`SEND ${payee.phone} 0`, 'That amount is not valid. Write it like 10 or 10.50.', 'AMOUNT_INVALID'],
      [`SEND ${payee.phone} 5.555`, 'That amount is not valid. Write it like 10 or 10.50.', 'AMOUNT_INVALID'],
      [
        `SEND ${payee.phone} five`,
        'To send money, send SEND <phone or name@provider> <amount>, e.g. SEND +43660123456 10',
        'VALIDATION_FAILED',
      ],
      [
        'SEND 0660 1234567 5',
        'To send money, send SEND <phone or name@provider> <amount>, e.g. SEND +43660123456 10',
        'VALIDATION_FAILED',
      ],
    ];
    for (const [text, reply, code] of cases)
      expect(await answer(payer.phone, text)).toEqual({ text: reply, code });

    // A blocked payee cannot be found; a blocked payer is told so.
    const blocked = await t.customer(0n, '1234', 'EUR', 'Bea Blocked');
    expect((await answer(blocked.phone, 'BLOCK')).text).toMatch(/blocked on every channel/);
    expect((await answer(payer.phone, `SEND ${blocked.phone} 5`)).code).toBe('ALIAS_NOT_FOUND');
    expect(await answer(blocked.phone, `SEND ${payer.phone} 5`)).toEqual({
      text: 'Your account is blocked. Please contact your provider.',
      code: 'ACCOUNT_BLOCKED',
    });
    expect((await answer(payer.phone, '1234')).code).toBe('CONFIRMATION_NOT_FOUND');
    expect(await t.balance(payer.id)).toBe(20_00n);
    expect(await t.balance(payee.id)).toBe(0n);
  });

  it('locks the PIN after three wrong tries, counted across SMS and USSD', async () => {
    const payer = await t.customer(20_00n);
    const payee = await t.customer(0n, '1234', 'EUR', 'Ben Otieno');
    await answer(payer.phone, `SEND ${payee.phone} 5`);
    expect(await answer(payer.phone, '9999')).toEqual({
      text: 'Wrong PIN; 2 tries left. Reply with your PIN again, or ignore this message to cancel.',
      code: 'PIN_INVALID',
    });
    const ussd = await t.ussdAnswer('lock-1', payer.phone, `1*${payee.phone}*5*9998`);
    expect(ussd).toEqual({ text: 'END Wrong PIN; 1 try left.', code: 'PIN_INVALID' });
    expect(await answer(payer.phone, '9997')).toEqual({
      text: 'Your PIN is locked after too many wrong tries. Contact your provider to unlock it.',
      code: 'PIN_LOCKED',
    });
    // Locked: the right PIN no longer pays, on either channel.
    expect((await answer(payer.phone, '1234')).code).toBe('CONFIRMATION_NOT_FOUND');
    await answer(payer.phone, `SEND ${payee.phone} 5`);
    expect((await answer(payer.phone, '1234')).code).toBe('PIN_LOCKED');
    expect((await t.ussdAnswer('lock-2', payer.phone, `1*${payee.phone}*5`)).code).toBe('PIN_LOCKED');
    expect(await t.balance(payer.id)).toBe(20_00n);
    expect(await t.balance(payee.id)).toBe(0n);
  });

  it('lets a SEND confirmation expire without checking the PIN', async () => {
    const payer = await t.customer(20_00n);
    const payee = await t.customer(0n);
    await answer(payer.phone, `SEND ${payee.phone} 5`);
    t.advance(2 * 60_000 + 1);
    expect(await answer(payer.phone, '1234')).toEqual({
      text: 'Your confirmation expired; nothing was sent. Send your SEND again.',
      code: 'APPROVAL_EXPIRED',
    });
    expect(await t.balance(payer.id)).toBe(20_00n);
  });
});

describe('SMS bills, airtime, the inbox and PIN change', () => {
  let biller: string;
  beforeAll(async () => {
    const energy = await t.merchant('Wien Energie');
    const r = await t.call<{ billerCode: string }>('POST', '/v1/admin/billers', {
      token: t.node.adminToken,
      body: {
        merchantId: energy.merchantId,
        billerCode: '2024711',
        accountPattern: '\\d{6,10}',
        minAmount: '100',
        maxAmount: '50000',
      },
    });
    biller = r.body.billerCode;
  });

  it('pays a bill by biller code and account number, refusing a bad code, account or amount first', async () => {
    const c = await t.customer(100_00n);
    const cases: Array<[string, string, string]> = [
      [
        'BILL 2029999 123456 5',
        'No biller has that code. Check the biller code on your bill.',
        'BILLER_NOT_FOUND',
      ],
      [
        `BILL ${biller} 4711 5`,
        'That account number is not valid for this biller. Check it on your bill.',
        'ACCOUNT_REFERENCE_INVALID',
      ],
      [
        `BILL ${biller} 123456 600`,
        'The amount must be between 1.00 EUR and 500.00 EUR.',
        'AMOUNT_OUT_OF_RANGE',
      ],
      [
        `BILL ${biller} 123456 120`,
        'Not enough money: you have 100.00 EUR available; this needs 120.00 EUR.',
        'INSUFFICIENT_FUNDS',
      ],
      [
        'BILL 123456 45',
        'To pay a bill, send BILL <biller code> <account number> <amount>, e.g. BILL 10100 4711 45.50',
        'VALIDATION_FAILED',
      ],
    ];
    for (const [text, reply, code] of cases)
      expect(await t.smsAnswer(c.phone, text)).toEqual({ text: reply, code });
    expect(await t.sms(c.phone, `bill ${biller} 123456 45,50`)).toBe(
      'Pay 45.50 EUR to Wien Energie, Wien (ref 123456)? Reply with your PIN within 2 minutes to approve; ignore this to cancel.',
    );
    expect(await t.sms(c.phone, '1234')).toMatch(
      /^Paid 45\.50 EUR to Wien Energie, Wien\. Receipt rct_\w{26}\. Balance 54\.50 EUR\.$/,
    );
    expect(await t.balance(c.id)).toBe(54_50n);
    expect(await t.sms(c.phone, 'MINI')).toMatch(/\n\d\d\.\d\d -45\.50 Wien Energie\n/);
  });

  it('buys airtime for this phone or another, within the operator range', async () => {
    const c = await t.customer(20_00n);
    const friend = await t.customer(0n);
    expect(await t.sms(c.phone, 'AIRTIME 5')).toBe(
      'Buy 5.00 EUR airtime for your phone? Reply with your PIN within 2 minutes to approve; ignore this to cancel.',
    );
    expect(await t.sms(c.phone, '1234')).toMatch(
      /^Bought 5\.00 EUR airtime for your phone\. Receipt rct_\w{26}\./,
    );
    expect(await t.sms(c.phone, `airtime ${friend.phone} 2`)).toMatch(
      new RegExp(`^Buy 2\\.00 EUR airtime for \\${friend.phone}\\? Reply with your PIN`),
    );
    expect((await t.smsAnswer(c.phone, '1234')).text).toMatch(/^Bought 2\.00 EUR airtime for \+/);
    expect(await t.smsAnswer(c.phone, 'AIRTIME 500')).toEqual({
      text: 'The amount must be between 1.00 EUR and 100.00 EUR.',
      code: 'AMOUNT_OUT_OF_RANGE',
    });
    expect(await t.balance(c.id)).toBe(13_00n);
  });

  it('lists the requests for money, pays one with the PIN and declines another', async () => {
    const payer = await t.customer(20_00n, '1234', 'EUR', 'Paul Wagner');
    const rhea = await t.customer(0n, '1234', 'EUR', 'Rhea Requester');
    const ben = await t.customer(0n, '1234', 'EUR', 'Ben Otieno');
    expect(await t.sms(payer.phone, 'INBOX')).toBe('No requests to pay.');
    for (const [who, value, note] of [
      [rhea, '200', 'taxi'],
      [ben, '300', undefined],
    ] as const) {
      const r = await t.call('POST', '/v1/wallet/p2p/requests', {
        token: who.token,
        body: { from: payer.phone, amount: { value, currency: 'EUR' }, ...(note ? { note } : {}) },
      });
      expect(r.status).toBe(201);
    }
    expect(await t.sms(payer.phone, 'INBOX')).toBe(
      'Requests to pay:\n1 3.00 EUR Ben O.\n2 2.00 EUR Rhea R. taxi\nReply ACCEPT <n> to pay or DECLINE <n>.',
    );
    expect(await t.sms(payer.phone, 'ACCEPT 2')).toBe(
      'Send 2.00 EUR to Rhea R.? Reply with your PIN within 2 minutes to approve; ignore this to cancel.',
    );
    expect(await t.sms(payer.phone, '1234')).toMatch(/^Sent 2\.00 EUR to Rhea R\. Receipt rct_\w{26}\./);
    expect(await t.balance(payer.id)).toBe(18_00n);
    expect(await t.balance(rhea.id)).toBe(2_00n);
    expect(await t.sms(payer.phone, 'DECLINE 1')).toBe('You declined the request of Ben O. for 3.00 EUR.');
    expect(await t.sms(payer.phone, 'INBOX')).toBe('No requests to pay.');
    expect(await t.smsAnswer(payer.phone, 'ACCEPT 1')).toEqual({
      text: 'No request 1 is waiting. Send INBOX to see them.',
      code: 'REQUEST_NOT_FOUND',
    });
    expect(await t.balance(ben.id)).toBe(0n);
  });

  it('points CHANGEPIN to USSD and stores no PIN typed with it', async () => {
    const c = await t.customer(0n);
    for (const text of ['CHANGEPIN', 'change pin 1234 5678', 'PIN CHANGE']) {
      expect(await t.sms(c.phone, text)).toMatch(
        /^To change your PIN, dial \*384# and choose 6 Change PIN\./,
      );
    }
    const inbound = (await stored(c.phone)).filter((m) => m.direction === 'in').map((m) => m.text);
    expect(inbound).toContain('change pin **** ****');
  });
});
