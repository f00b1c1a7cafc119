import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SCREEN } from '../text.js';
import { startTestNode, type TestCustomer, type TestNode } from '../testing.js';
import { MAIN_MENU } from './menu.js';

let t: TestNode;
let shop: { apiKey: string };
let agent: { apiKey: string };
let session = 0;
beforeAll(async () => {
  t = await startTestNode();
  shop = await t.merchant('Café Central');
  agent = await t.merchant('Kiosk Agent 12 – Favoriten');
});
afterAll(async () => {
  await t.close();
});

/** Dials and types `steps` one by one, as a phone does; returns every screen. */
async function dial(phone: string, steps: readonly string[]): Promise<string[]> {
  const id = `ATUid_${++session}`;
  const screens = [await t.ussd(id, phone, '')];
  for (let i = 1; i <= steps.length; i++) screens.push(await t.ussd(id, phone, steps.slice(0, i).join('*')));
  return screens;
}

function expectScreens(screens: readonly string[]): void {
  for (const s of screens) {
    expect(s).toMatch(/^(CON|END) /);
    expect([...s].length).toBeLessThanOrEqual(MAX_SCREEN);
  }
}

describe('USSD payment: pay merchant by code', () => {
  it('walks main menu → code → confirm → PIN, and pays', async () => {
    const c = await t.customer(100_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '1250', currency: 'EUR' } });
    const screens = await dial(c.phone, ['2', req.shortCode, '1234']);
    expectScreens(screens);
    expect(screens[0]).toBe(`CON ${MAIN_MENU}`);
    expect(screens[1]).toBe('CON Enter merchant code:\n0 Back');
    expect(screens[2]).toBe('CON Pay 12.50 EUR to Cafe Central, Wien?\nEnter PIN to approve:\n0 Back');
    expect(screens[3]).toMatch(
      /^END Paid 12\.50 EUR to Cafe Central, Wien\. Receipt rct_\w{26}\. Balance 87\.50 EUR\.$/,
    );
    for (const s of screens) expect(s).not.toContain('1234');
    expect(await t.balance(c.id)).toBe(87_50n);
    expect(await t.requestStatus(shop.apiKey, req.id)).toBe('PAID');
  });

  it('pays once when the gateway repeats the last step of a session', async () => {
    const c = await t.customer(50_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '300', currency: 'EUR' }, reusable: true });
    const text = `2*${req.shortCode}*1234`;
    const [a, b] = await Promise.all([t.ussd('retry-1', c.phone, text), t.ussd('retry-1', c.phone, text)]);
    const again = await t.ussd('retry-1', c.phone, text);
    const done = [a, b, again].filter((s) => s.startsWith('END Paid 3.00 EUR'));
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect([a, b, again].every((s) => /^END (Paid 3\.00 EUR|Your request is being processed)/.test(s))).toBe(
      true,
    );
    expect(await t.balance(c.id)).toBe(47_00n);
    // A single-use request is paid after the first answer: a retry still gets that answer, not a refusal.
    const single = await t.request(shop.apiKey, { amount: { value: '100', currency: 'EUR' } });
    const first = await t.ussd('retry-2', c.phone, `2*${single.shortCode}*1234`);
    expect(first).toMatch(/^END Paid 1\.00 EUR/);
    expect(await t.ussd('retry-2', c.phone, `2*${single.shortCode}*1234`)).toBe(first);
    expect(await t.balance(c.id)).toBe(46_00n);
    // Another phone cannot read the answer of that session.
    const other = await t.customer(0n);
    expect(await t.ussd('retry-1', other.phone, text)).toBe('END Session error. Please dial again.');
  });

  it('asks for the amount when the merchant lets the payer choose it', async () => {
    const c = await t.customer(30_00n);
    const req = await t.request(shop.apiKey, {
      minAmount: { value: '100', currency: 'EUR' },
      maxAmount: { value: '2000', currency: 'EUR' },
      reusable: true,
    });
    const screens = await dial(c.phone, ['2', req.shortCode, '25', '4.5', '1234']);
    expectScreens(screens);
    expect(screens[2]).toBe('CON Cafe Central, Wien\nEnter amount (1.00-20.00 EUR):\n0 Back');
    expect(screens[3]).toBe(
      'CON The amount must be 1.00-20.00 EUR.\nCafe Central, Wien\nEnter amount (1.00-20.00 EUR):\n0 Back',
    );
    expect(screens[4]).toBe('CON Pay 4.50 EUR to Cafe Central, Wien?\nEnter PIN to approve:\n0 Back');
    expect(screens[5]).toMatch(/^END Paid 4\.50 EUR/);
    expect(await t.balance(c.id)).toBe(25_50n);
  });
});

describe('USSD send money: phone or name@processor → amount → PIN', () => {
  it('shows the payee by the name their processor allows, and moves the money once', async () => {
    const payer = await t.customer(100_00n, '1234', 'EUR', 'Anna Berger');
    const payee = await t.customer(1_00n, '1234', 'EUR', 'Ben Otieno');
    const screens = await dial(payer.phone, ['1', payee.phone, '12.5', '1234']);
    expectScreens(screens);
    expect(screens.slice(1)).toEqual([
      'CON Send money\nEnter phone number with country code, or name@provider:\n0 Back',
      'CON Send to Ben O.\nEnter amount (EUR):\n0 Back',
      'CON Send 12.50 EUR to Ben O.?\nEnter PIN to approve:\n0 Back',
      expect.stringMatching(/^END Sent 12\.50 EUR to Ben O\. Receipt rct_\w{26}\. Balance 87\.50 EUR\.$/),
    ]);
    expect(await t.balance(payer.id)).toBe(87_50n);
    expect(await t.balance(payee.id)).toBe(13_50n);
    // The gateway repeating the last step gets the same answer and moves nothing more.
    const last = await t.ussd(`ATUid_${session}`, payer.phone, `1*${payee.phone}*12.5*1234`);
    expect(last).toBe(screens[4]);
    expect(await t.balance(payer.id)).toBe(87_50n);
    expect(await t.balance(payee.id)).toBe(13_50n);
    expect((await dial(payee.phone, ['5']))[1]).toMatch(
      /^END Last 2 \(EUR\):\n\d\d\.\d\d \+12\.50 From Anna B\.\n/,
    );
  });

  it('says before the PIN when the balance does not cover the amount, and lets the customer change it', async () => {
    const payer = await t.customer(20_00n);
    const payee = await t.customer(0n, '1234', 'EUR', 'Ben Otieno');
    const id = `ATUid_${++session}`;
    const short = await t.ussdAnswer(id, payer.phone, `1*${payee.phone}*50`);
    expect(short).toEqual({
      text: 'CON Not enough money: you have 20.00 EUR available; this needs 50.00 EUR.\nSend to Ben O.\nEnter amount (EUR):\n0 Back',
      code: 'INSUFFICIENT_FUNDS',
    });
    const lower = await t.ussdAnswer(id, payer.phone, `1*${payee.phone}*50*20`);
    expect(lower).toEqual({ text: 'CON Send 20.00 EUR to Ben O.?\nEnter PIN to approve:\n0 Back' });
    expect((await t.ussdAnswer(id, payer.phone, `1*${payee.phone}*50*20*1234`)).text).toMatch(
      /^END Sent 20\.00 EUR/,
    );
    expect(await t.balance(payer.id)).toBe(0n);
    expect(await t.balance(payee.id)).toBe(20_00n);

    // A merchant's fixed amount cannot be changed: the session ends with what is available.
    const req = await t.request(shop.apiKey, { amount: { value: '500', currency: 'EUR' } });
    expect(await t.ussdAnswer(`ATUid_${++session}`, payer.phone, `2*${req.shortCode}`)).toEqual({
      text: 'END Not enough money: you have 0.00 EUR available; this needs 5.00 EUR.',
      code: 'INSUFFICIENT_FUNDS',
    });
  });

  it('answers an unknown recipient, oneself, bad numbers, amounts and PINs with a clear screen and code', async () => {
    const payer = await t.customer(20_00n);
    const payee = await t.customer(0n, '1234', 'EUR', 'Ben Otieno');
    const cases: Array<[string, string, string]> = [
      [
        '1*bob',
        'CON Not a phone number or name@provider.\nSend money\nEnter phone number with country code, or name@provider:\n0 Back',
        'VALIDATION_FAILED',
      ],
      [
        '1*nobody@mno-b',
        'CON No account found for that number or name. Check it and include the country code.\nSend money\nEnter phone number with country code, or name@provider:\n0 Back',
        'ALIAS_NOT_FOUND',
      ],
      [
        `1*${payer.phone}`,
        'CON You cannot send money to yourself.\nSend money\nEnter phone number with country code, or name@provider:\n0 Back',
        'VALIDATION_FAILED',
      ],
      [
        `1*${payee.phone}*ten`,
        'CON That amount is not valid. Write it like 10 or 10.50.\nSend to Ben O.\nEnter amount (EUR):\n0 Back',
        'AMOUNT_INVALID',
      ],
      [
        `1*${payee.phone}*0.001`,
        expect.stringMatching(/^CON That amount is not valid/) as never,
        'AMOUNT_INVALID',
      ],
      [
        `1*${payee.phone}*5*12`,
        expect.stringMatching(/^CON A PIN has 4 to 6 digits\.\nSend 5\.00 EUR/) as never,
        'PIN_FORMAT',
      ],
      [`1*${payee.phone}*5*9999`, 'END Wrong PIN; 2 tries left.', 'PIN_INVALID'],
    ];
    for (const [text, screen, code] of cases) {
      const got = await t.ussdAnswer(`ATUid_${++session}`, payer.phone, text);
      expectScreens([got.text]);
      expect(got).toEqual({ text: screen, code });
    }
    expect(await t.balance(payer.id)).toBe(20_00n);
    expect(await t.balance(payee.id)).toBe(0n);
  });
});

describe('USSD bills, airtime and requests to pay', () => {
  it('pays a bill: biller code, account, amount, PIN; a wrong account ends with the reason', async () => {
    const energy = await t.merchant('Wien Energie');
    await t.call('POST', '/v1/admin/billers', {
      token: t.node.adminToken,
      body: { merchantId: energy.merchantId, billerCode: '2025500', accountPattern: '\\d{6,10}' },
    });
    const c = await t.customer(100_00n);
    const screens = await dial(c.phone, ['8', '1', '2025500', '123456', '45.5', '1234']);
    expectScreens(screens);
    expect(screens.slice(1)).toEqual([
      'CON Bills & airtime\n1 Pay bill\n2 Buy airtime\n0 Back',
      'CON Pay bill\nEnter biller code:\n0 Back',
      'CON Enter account number:\n0 Back',
      'CON Enter amount (EUR):\n0 Back',
      'CON Pay 45.50 EUR to Wien Energie, Wien?\nEnter PIN to approve:\n0 Back',
      expect.stringMatching(
        /^END Paid 45\.50 EUR to Wien Energie, Wien\. Receipt rct_\w{26}\. Balance 54\.50 EUR\.$/,
      ),
    ]);
    expect(await t.balance(c.id)).toBe(54_50n);
    // The biller's processor checks the account number when it makes the bill: a wrong one ends the session.
    expect(await t.ussdAnswer(`ATUid_${++session}`, c.phone, '8*1*2025500*12*5')).toEqual({
      text: 'END That account number is not valid for this biller. Check it on your bill.',
      code: 'ACCOUNT_REFERENCE_INVALID',
    });
    expect(await t.ussdAnswer(`ATUid_${++session}`, c.phone, '8*1*2029999*123456*5')).toEqual({
      text: 'END No biller has that code. Check the biller code on your bill.',
      code: 'BILLER_NOT_FOUND',
    });
    expect(await t.ussdAnswer(`ATUid_${++session}`, c.phone, '8*1*2025500*123456*60')).toEqual({
      text: 'CON Not enough money: you have 54.50 EUR available; this needs 60.00 EUR.\nEnter amount (EUR):\n0 Back',
      code: 'INSUFFICIENT_FUNDS',
    });
    expect(await t.balance(c.id)).toBe(54_50n);
  });

  it('buys airtime for this phone', async () => {
    const c = await t.customer(10_00n);
    const screens = await dial(c.phone, ['8', '2', '1', '5', '1234']);
    expectScreens(screens);
    expect(screens.slice(2)).toEqual([
      'CON Buy airtime\n1 For this phone\nor enter a phone number with country code:\n0 Back',
      'CON Airtime for this phone\nEnter amount (EUR):\n0 Back',
      'CON Buy 5.00 EUR airtime for your phone?\nEnter PIN to approve:\n0 Back',
      expect.stringMatching(
        /^END Bought 5\.00 EUR airtime for your phone\. Receipt rct_\w{26}\. Balance 5\.00 EUR\.$/,
      ),
    ]);
    expect(await t.balance(c.id)).toBe(5_00n);
  });

  it('lists the requests for money, pays one and declines another; each session pays what it showed', async () => {
    const payer = await t.customer(20_00n);
    expect((await dial(payer.phone, ['9']))[1]).toBe('END No requests to pay.');
    const rhea = await t.customer(0n, '1234', 'EUR', 'Rhea Requester');
    const ben = await t.customer(0n, '1234', 'EUR', 'Ben Otieno');
    const ask = (who: TestCustomer, value: string, note?: string) =>
      t.call('POST', '/v1/wallet/p2p/requests', {
        token: who.token,
        body: { from: payer.phone, amount: { value, currency: 'EUR' }, ...(note ? { note } : {}) },
      });
    await ask(rhea, '200', 'taxi');
    const id = `ATUid_${++session}`;
    expect(await t.ussd(id, payer.phone, '9')).toBe('CON Requests to pay\n1 Rhea R. 2.00 EUR\n0 Back');
    expect(await t.ussd(id, payer.phone, '9*1')).toBe(
      'CON Rhea R. asks 2.00 EUR: taxi\n1 Pay\n2 Decline\n0 Back',
    );
    // Ben's request arrives in the middle of the session: it is now first in the list, yet the session pays Rhea.
    await ask(ben, '300');
    expect(await t.ussd(id, payer.phone, '9*1*1')).toBe(
      'CON Send 2.00 EUR to Rhea R.?\nEnter PIN to approve:\n0 Back',
    );
    expect(await t.ussd(id, payer.phone, '9*1*1*1234')).toMatch(
      /^END Sent 2\.00 EUR to Rhea R\. Receipt rct_\w{26}\./,
    );
    expect(await t.balance(rhea.id)).toBe(2_00n);
    expect(await t.balance(ben.id)).toBe(0n);
    const declined = await dial(payer.phone, ['9', '1', '2']);
    expect(declined.slice(1)).toEqual([
      'CON Requests to pay\n1 Ben O. 3.00 EUR\n0 Back',
      'CON Ben O. asks 3.00 EUR\n1 Pay\n2 Decline\n0 Back',
      'END You declined the request of Ben O. for 3.00 EUR.',
    ]);
    expect((await dial(payer.phone, ['9']))[1]).toBe('END No requests to pay.');
    expect(await t.balance(payer.id)).toBe(18_00n);
  });
});

describe('USSD menu', () => {
  it('withdraws cash by paying the agent till', async () => {
    const c = await t.customer(100_00n);
    const till = await t.request(agent.apiKey, { reusable: true, reference: 'till' });
    const screens = await dial(c.phone, ['3', till.shortCode, '20', '1234']);
    expectScreens(screens);
    expect(screens[1]).toBe('CON Enter agent till number:\n0 Back');
    expect(screens[3]).toBe(
      'CON Withdraw 20.00 EUR at Kiosk Agent 12 Favori., Wien?\nEnter PIN to approve:\n0 Back',
    );
    expect(screens[4]).toMatch(
      /^END Withdrawal of 20\.00 EUR at Kiosk Agent 12 Favori\., Wien approved\. Receipt rct_\w{26}\. Collect your cash\.$/,
    );
    expect(await t.balance(c.id)).toBe(80_00n);
  });

  it('shows balance and mini statement', async () => {
    const c = await t.customer(40_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '250', currency: 'EUR' } });
    await dial(c.phone, ['2', req.shortCode, '1234']);
    expect((await dial(c.phone, ['4']))[1]).toBe('END Balance 37.50 EUR.');
    const mini = (await dial(c.phone, ['5']))[1]!;
    expect(mini).toMatch(
      /^END Last 2 \(EUR\):\n\d\d\.\d\d -2\.50 Cafe Central\n\d\d\.\d\d \+40\.00 Deposit$/,
    );
  });

  it('fits a mini statement of long names into one screen', async () => {
    const c = await t.customer(100_00n);
    const long = await t.merchant('Ein sehr langer Händlername für den Test');
    for (let i = 0; i < 6; i++) {
      const req = await t.request(long.apiKey, { amount: { value: String(100_001 + i), currency: 'EUR' } });
      if (i < 2) await dial(c.phone, ['2', req.shortCode, '1234']);
    }
    await t.call('POST', `/v1/admin/customers/${c.id}/deposits`, {
      token: t.node.adminToken,
      body: { amount: '123456789' },
    });
    const mini = (await dial(c.phone, ['5']))[1]!;
    expectScreens([mini]);
    expect(mini).toMatch(/^END Last \d \(EUR\):\n/);
  });

  it('changes the PIN with the current PIN and the new one twice', async () => {
    const c = await t.customer(20_00n);
    const mismatch = await dial(c.phone, ['6', '1234', '4321', '4322']);
    expect(mismatch.at(-1)).toBe('END The new PINs do not match. Your PIN was not changed.');
    const wrong = await dial(c.phone, ['6', '9999', '4321', '4321']);
    expect(wrong.at(-1)).toBe('END Wrong PIN; 2 tries left. Your PIN was not changed.');
    const ok = await dial(c.phone, ['6', '1234', '4321', '4321']);
    expectScreens(ok);
    expect(ok.slice(1)).toEqual([
      'CON Change PIN\nEnter current PIN:\n0 Back',
      'CON Enter new PIN (4 to 6 digits):\n0 Back',
      'CON Enter new PIN again:\n0 Back',
      'END Your PIN was changed.',
    ]);
    const req = await t.request(shop.apiKey, { amount: { value: '100', currency: 'EUR' } });
    expect((await dial(c.phone, ['2', req.shortCode, '1234'])).at(-1)).toMatch(/^END Wrong PIN/);
    expect((await dial(c.phone, ['2', req.shortCode, '4321'])).at(-1)).toMatch(/^END Paid 1\.00 EUR/);
  });

  it('answers garbage with a clear screen and changes nothing', async () => {
    const c = await t.customer(20_00n);
    const req = await t.request(shop.apiKey, { amount: { value: '500', currency: 'EUR' } });
    const cases: Array<[string, string | RegExp]> = [
      ['99', `CON Invalid choice.\n${MAIN_MENU}`],
      ['99*x*', `CON Invalid choice.\n${MAIN_MENU}`],
      ['99*4', 'END Balance 20.00 EUR.'],
      [
        '2*abc',
        'CON That payment code is not valid. Check the 10 digits and try again.\nEnter merchant code:\n0 Back',
      ],
      ['2*1234567890', /^CON That payment code is not valid/],
      [`2*${req.shortCode}*12`, /^CON A PIN has 4 to 6 digits\.\nPay 5\.00 EUR/],
      [`2*${req.shortCode}*abcd`, /^CON A PIN has 4 to 6 digits\./],
      [`2*${req.shortCode}*0`, `CON ${MAIN_MENU}`],
      [`2*${req.shortCode}*0*4`, 'END Balance 20.00 EUR.'],
      ['2*0*0', `CON Invalid choice.\n${MAIN_MENU}`],
      ['6*12', /^CON A PIN has 4 to 6 digits\.\nChange PIN/],
      ['*'.repeat(30), 'END This session is too long. Please dial again.'],
      ['4*4', 'END Balance 20.00 EUR.'],
    ];
    for (const [text, want] of cases) {
      const got = await t.ussd(`garbage-${++session}`, c.phone, text);
      expectScreens([got]);
      if (typeof want === 'string') expect(got).toBe(want);
      else expect(got).toMatch(want);
    }
    expect(await t.balance(c.id)).toBe(20_00n);
    expect(await t.requestStatus(shop.apiKey, req.id)).toBe('OPEN');
    expect(await t.ussd('unknown-1', '+43699000222', '')).toBe(
      'END This number has no account here. Ask your bank or mobile operator to open one.',
    );
  });

  it('refuses calls without the gateway token and bodies that are not a USSD step', async () => {
    const c = await t.customer(0n);
    const r = await t.call<{ error: { code: string } }>('POST', '/v1/channels/ussd', {
      body: { sessionId: 's', serviceCode: '*384#', phoneNumber: c.phone, text: '' },
    });
    expect([r.status, r.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    const bad = await t.call<{ error: { code: string } }>('POST', '/v1/channels/ussd', {
      headers: { 'x-gateway-token': t.gatewayToken },
      body: { sessionId: 's', phoneNumber: 'nobody', text: '' },
    });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const form = await t.call('POST', '/v1/channels/ussd', {
      headers: { 'x-gateway-token': t.gatewayToken, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        sessionId: 'f1',
        serviceCode: '*384#',
        phoneNumber: c.phone,
        text: '4',
      }).toString(),
    });
    expect(form.text).toBe('END Balance 0.00 EUR.');
  });

  it('keeps every screen within 160 characters and never shows what was typed as a PIN (property)', async () => {
    const c = await t.customer(1_000_00n, '580417');
    const fixed = await t.request(shop.apiKey, { amount: { value: '1', currency: 'EUR' }, reusable: true });
    const open = await t.request(shop.apiKey, {
      reusable: true,
      maxAmount: { value: '99999', currency: 'EUR' },
    });
    const token = fc.constantFrom(
      '0', '1', '2', '3', '4', '5', '6', '7', '', 'x', '580417', '0580417', '1234', '12.5', '0.01', '999999999',
      fixed.shortCode, open.shortCode, '+43660111222', 'PAY', '#', ' ',
    ); // prettier-ignore
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 7 }), async (steps) => {
        const reply = await t.ussd(`prop-${++session}`, c.phone, steps.join('*'));
        expectScreens([reply]);
        expect(reply).not.toContain('580417');
      }),
      { numRuns: 150 },
    );
  });
});
