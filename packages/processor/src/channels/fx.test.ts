import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FxQuoteView } from '../fx/service.js';
import { MAX_SCREEN } from './text.js';
import { startTestNode, type TestCustomer, type TestNode } from './testing.js';

// HUF customers paying an EUR merchant by SMS and USSD, at bank-c's terms of docs/settlement.md.
let t: TestNode;
let shop: { apiKey: string };
let session = 0;
beforeAll(async () => {
  t = await startTestNode({
    fx: {
      rates: [{ base: 'EUR', quote: 'HUF', rate: '392.45' }],
      spreadBps: 50,
      feeFixed: { HUF: '10000' },
      quoteTtlMs: 30_000,
    },
  });
  shop = await t.merchant('Café Central');
});
afterAll(async () => {
  await t.close();
});

const eur = (v: bigint) => ({ value: v.toString(), currency: 'EUR' });
const fits = (s: string) => expect([...s].length).toBeLessThanOrEqual(MAX_SCREEN);

const setRate = (rate: string) =>
  t.call('PUT', '/v1/admin/fx/rates', {
    token: t.node.adminToken,
    body: { rates: [{ base: 'EUR', quote: 'HUF', rate }] },
  });

/**
 * Makes the customer's wallet show a newer quote for the same request and amount than the one the phone shows:
 * half the phone quote's validity passes (so it is no longer offered again), the rate moves to 400, and the
 * wallet resolves the request. Returns the wallet's quote (4120.00 HUF).
 */
async function newerQuoteInWallet(c: TestCustomer, shortCode: string): Promise<FxQuoteView> {
  t.advance(16_000);
  await setRate('400');
  const r = await t.call<{ quote?: FxQuoteView }>('POST', '/v1/wallet/resolve', {
    token: c.token,
    body: { code: shortCode },
  });
  expect(r.body.quote?.total).toEqual({ value: '412000', currency: 'HUF' });
  return r.body.quote!;
}

describe('SMS: a payment in another currency', () => {
  it('shows total, fee and rate before asking for the PIN, and pays that total', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const req = await t.request(shop.apiKey, { amount: eur(10_00n) });
    const ask = await t.sms(c.phone, `PAY ${req.shortCode}`);
    expect(ask).toBe(
      'Pay 10.00 EUR to Cafe Central, Wien: 4044.13 HUF incl. fee 100.00 HUF, 1 EUR = 394.412250 HUF. ' +
        'Reply with your PIN within 30s to approve.',
    );
    fits(ask);
    const done = await t.sms(c.phone, '1234');
    expect(done).toMatch(
      /^Paid 10\.00 EUR \(4044\.13 HUF\) to Cafe Central, Wien\. Receipt rct_\w{26}\. Balance 95955\.87 HUF\.$/,
    );
    fits(done);
    expect(await t.balance(c.id)).toBe(100_000_00n - 404413n);
    // The mini statement shows the payment once, at its total.
    const mini = await t.sms(c.phone, 'MINI');
    expect(mini).toMatch(/-4044\.13 Cafe Central/);
    expect(mini.match(/-/g)?.length).toBe(1);
  });

  it('answers a PIN after the quote expired with the new quote, pays nothing, then pays at the new one', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const req = await t.request(shop.apiKey, { amount: eur(10_00n) });
    await t.sms(c.phone, `PAY ${req.shortCode}`);
    t.advance(31_000);
    await t.call('PUT', '/v1/admin/fx/rates', {
      token: t.node.adminToken,
      body: { rates: [{ base: 'EUR', quote: 'HUF', rate: '400' }] },
    });
    try {
      const late = await t.sms(c.phone, '1234');
      expect(late).toBe(
        'The exchange rate expired; nothing was paid. New: 4120.00 HUF incl. fee 100.00 HUF, ' +
          '1 EUR = 402.000000 HUF. Reply with your PIN within 30s to pay.',
      );
      fits(late);
      expect(await t.balance(c.id)).toBe(100_000_00n);
      const done = await t.sms(c.phone, '1234');
      expect(done).toMatch(/^Paid 10\.00 EUR \(4120\.00 HUF\)/);
      expect(await t.balance(c.id)).toBe(100_000_00n - 412000n);
    } finally {
      await t.call('PUT', '/v1/admin/fx/rates', {
        token: t.node.adminToken,
        body: { rates: [{ base: 'EUR', quote: 'HUF', rate: '392.45' }] },
      });
    }
  });

  it('pays at exactly the quote the confirmation showed, not at a newer one made meanwhile elsewhere', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const req = await t.request(shop.apiKey, { amount: eur(10_00n) });
    expect(await t.sms(c.phone, `PAY ${req.shortCode}`)).toMatch(/: 4044\.13 HUF incl\. fee 100\.00 HUF/);
    try {
      const wallet = await newerQuoteInWallet(c, req.shortCode);
      // The SMS quote still holds (14 s left): the PIN pays at it — the price the customer was shown.
      const done = await t.sms(c.phone, '1234');
      expect(done).toMatch(/^Paid 10\.00 EUR \(4044\.13 HUF\)/);
      expect(await t.balance(c.id)).toBe(100_000_00n - 404413n);
      // The wallet's quote is still free (the SMS did not take it).
      const q = await t.call<FxQuoteView>('GET', `/v1/wallet/quotes/${wallet.quoteId}`, { token: c.token });
      expect(q.status).toBe(200);
    } finally {
      await setRate('392.45');
    }
  });

  it('answers with a new quote when the one shown was used meanwhile by another payment', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const req = await t.request(shop.apiKey, {
      minAmount: eur(1_00n),
      maxAmount: eur(50_00n),
      reusable: true,
    });
    expect(await t.sms(c.phone, `PAY ${req.shortCode} 10`)).toMatch(/4044\.13 HUF/);
    // The wallet is shown the same quote (it still holds) and pays with it first.
    const r = await t.call<{ requestId: string; processorId: string }>('POST', '/v1/wallet/resolve', {
      token: c.token,
      body: { code: req.shortCode },
    });
    const q = await t.call<FxQuoteView>('POST', '/v1/wallet/quotes', {
      token: c.token,
      body: { requestId: r.body.requestId, amount: eur(10_00n) },
    });
    const paid = await t.call<{ status: string }>('POST', '/v1/wallet/payments', {
      token: c.token,
      body: { approval: await c.approval(r.body, eur(10_00n), '1234', q.body.quoteId) },
    });
    expect(paid.body.status).toBe('COMPLETED');
    // The SMS PIN cannot pay at that quote again: nothing more is taken, a new quote is shown.
    expect(await t.sms(c.phone, '1234')).toMatch(
      /^The exchange rate expired; nothing was paid\. New: 4044\.13 HUF/,
    );
    expect(await t.balance(c.id)).toBe(100_000_00n - 404413n);
    expect(await t.sms(c.phone, '1234')).toMatch(/^Paid 10\.00 EUR \(4044\.13 HUF\)/);
    expect(await t.balance(c.id)).toBe(100_000_00n - 2n * 404413n);
  });

  it('says when the currency cannot be converted', async () => {
    const c = await t.customer(10_000n, '1234', 'JPY');
    const req = await t.request(shop.apiKey, { amount: eur(1_00n) });
    expect(await t.sms(c.phone, `PAY ${req.shortCode}`)).toBe(
      'This request is in a currency we cannot convert to. Nothing was paid.',
    );
  });
});

describe('USSD: a payment in another currency', () => {
  async function dial(phone: string, steps: readonly string[], id = `FX_${++session}`): Promise<string[]> {
    const screens = [await t.ussd(id, phone, '')];
    for (let i = 1; i <= steps.length; i++)
      screens.push(await t.ussd(id, phone, steps.slice(0, i).join('*')));
    for (const s of screens) fits(s);
    return screens;
  }

  it('shows total, fee and rate on the PIN screen and pays at that quote', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const req = await t.request(shop.apiKey, { amount: eur(10_00n) });
    const s = await dial(c.phone, ['2', req.shortCode, '1234']);
    expect(s[2]).toBe(
      'CON Pay 10.00 EUR to Cafe Central, Wien\n= 4044.13 HUF incl. fee 100.00 HUF\n1 EUR = 394.412250 HUF\n' +
        'Enter PIN to approve:\n0 Back',
    );
    expect(s[3]).toMatch(
      /^END Paid 10\.00 EUR \(4044\.13 HUF\) to Cafe Central, Wien\. Receipt rct_\w{26}\./,
    );
    expect(await t.balance(c.id)).toBe(100_000_00n - 404413n);
  });

  it('asks for the amount first when the merchant lets the payer choose, then quotes it', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const req = await t.request(shop.apiKey, { minAmount: eur(1_00n), maxAmount: eur(50_00n) });
    const s = await dial(c.phone, ['2', req.shortCode, '12', '1234']);
    expect(s[3]).toContain('Pay 12.00 EUR to Cafe Central, Wien\n= 4832.95 HUF incl. fee 100.00 HUF');
    expect(s[4]).toMatch(/^END Paid 12\.00 EUR \(4832\.95 HUF\)/);
  });

  it('shows the new quote when the PIN comes after expiry, and pays only after the PIN is given again', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const req = await t.request(shop.apiKey, { amount: eur(10_00n) });
    const id = `FX_${++session}`;
    await t.ussd(id, c.phone, '');
    await t.ussd(id, c.phone, '2');
    await t.ussd(id, c.phone, `2*${req.shortCode}`);
    t.advance(31_000);
    const again = await t.ussd(id, c.phone, `2*${req.shortCode}*1234`);
    expect(again).toBe(
      'CON Rate expired. New quote:\nPay 10.00 EUR to Cafe Central, Wien\n= 4044.13 HUF incl. fee 100.00 HUF\n' +
        '1 EUR = 394.412250 HUF\nEnter PIN to approve:\n0 Back',
    );
    fits(again);
    expect(await t.balance(c.id)).toBe(100_000_00n);
    const done = await t.ussd(id, c.phone, `2*${req.shortCode}*1234*1234`);
    expect(done).toMatch(/^END Paid 10\.00 EUR \(4044\.13 HUF\)/);
    expect(await t.balance(c.id)).toBe(100_000_00n - 404413n);
    // A gateway retry gets the same answer and pays nothing more.
    expect(await t.ussd(id, c.phone, `2*${req.shortCode}*1234*1234`)).toBe(done);
    expect(await t.balance(c.id)).toBe(100_000_00n - 404413n);
  });

  it('pays at exactly the quote the session showed, not at a newer one made meanwhile in the wallet', async () => {
    const c = await t.customer(100_000_00n, '1234', 'HUF');
    const req = await t.request(shop.apiKey, { amount: eur(10_00n) });
    const id = `FX_${++session}`;
    await t.ussd(id, c.phone, '');
    await t.ussd(id, c.phone, '2');
    expect(await t.ussd(id, c.phone, `2*${req.shortCode}`)).toContain('= 4044.13 HUF incl. fee 100.00 HUF');
    try {
      await newerQuoteInWallet(c, req.shortCode);
      const done = await t.ussd(id, c.phone, `2*${req.shortCode}*1234`);
      expect(done).toMatch(/^END Paid 10\.00 EUR \(4044\.13 HUF\)/);
      expect(await t.balance(c.id)).toBe(100_000_00n - 404413n);
    } finally {
      await setRate('392.45');
    }
  });

  it('ends with a clear text when the currency cannot be converted', async () => {
    const c = await t.customer(10_000n, '1234', 'JPY');
    const req = await t.request(shop.apiKey, { amount: eur(1_00n) });
    const s = await dial(c.phone, ['2', req.shortCode]);
    expect(s[2]).toBe('END This request is in a currency we cannot convert to. Nothing was paid.');
  });
});
