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
    expect(await t.sms(c.phone, '1234')).toBe('Your confirmation expired. Send PAY <code> again.');
    expect(await t.balance(c.id)).toBe(30_00n);
    // The PIN was not tried, so no attempt was counted: three wrong tries still leave the third to lock.
    await t.sms(c.phone, `PAY ${req.shortCode}`);
    expect(await t.sms(c.phone, '9999')).toMatch(/2 tries left/);
    expect(await t.sms(c.phone, '1234')).toMatch(/^Paid 7\.00 EUR/);
  });

  it('answers BAL, MINI, HELP and SEND', async () => {
    const c = await t.customer(20_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '350', currency: 'EUR' } });
    await t.sms(c.phone, `PAY ${req.shortCode}`);
    await t.sms(c.phone, '1234');
    expect(await t.sms(c.phone, 'BAL')).toBe('Balance 16.50 EUR.');
    const mini = await t.sms(c.phone, 'mini');
    expect(mini).toMatch(/^Last 2 \(EUR\):\n\d\d\.\d\d -3\.50 Cafe Central\n\d\d\.\d\d \+20\.00 Deposit$/);
    expect(await t.sms(c.phone, 'HELP')).toMatch(/^PAY <code> \[amount\]: pay a merchant\./);
    expect(await t.sms(c.phone, 'SEND +43660999888 5')).toMatch(/not available yet.*Nothing was sent/);
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
      'To send money, send SEND <phone> <amount>, e.g. SEND +43660123456 10',
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

  it('sent every answer above in one SMS (160 characters) and never a PIN', async () => {
    const sent = (await stored()).filter((m) => m.direction === 'out');
    expect(sent.length).toBeGreaterThan(30);
    for (const m of sent) {
      expect([...m.text].length).toBeLessThanOrEqual(MAX_SCREEN);
      expect(m.text).not.toMatch(/(^|\D)(1234|580417|999\d)(\D|$)/);
    }
  });
});
