/**
 * People paying people, and refunds, in a real browser (Debian's Chromium) against a real network of
 * processes: a bank-a customer sends money to an mno-b customer's phone from the wallet page, a request for
 * money goes from one wallet's page to the other's inbox and is paid (another declined), and a merchant
 * refunds a sale from the POS page, the payer's balance coming back. Every endpoint these steps use must
 * answer: a missing route fails the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { call } from '@semops/cli';
import { freshNetwork } from '../helpers.js';
import {
  ensureWebBuilt,
  fitsWidth,
  launchChromium,
  phones,
  screenshot,
  skipReason,
  typePin,
} from './browser.js';

const skip = skipReason();
if (skip) console.warn(skip);

type Net = Awaited<ReturnType<typeof freshNetwork>>;
interface Money {
  value: string;
  currency: string;
}

describe.skipIf(skip !== undefined)('P2P, request money and refunds in Chromium', () => {
  let env: Net;
  let browser: Browser;
  let bankA: string;
  let mnoB: string;
  let cafeKey: string;
  const devices = phones(() => browser);

  /** Anna: customer of bank-a. Ben: customer of mno-b. Each with the wallet page open and set up. */
  const anna = { name: 'Anna Berger', phone: '+436641000201', token: '', page: undefined as unknown as Page };
  const ben = { name: 'Ben Okafor', phone: '+436761000202', token: '', page: undefined as unknown as Page };

  const phone = () => devices.open();

  /** A customer of `processorId` with money, set up in that processor's wallet page through its form. */
  async function setUp(processorId: string, who: typeof anna, balance: bigint, pin: string) {
    const p = env.net.processors.get(processorId)!;
    const c = await p.admin.createCustomer({ phone: who.phone, name: who.name, currency: 'EUR' });
    await p.admin.deposit(c.customerId, balance);
    const re = await call<{ activationCode: string }>(
      'POST',
      `${p.url}/v1/admin/customers/${c.customerId}/activation`,
      { token: p.adminToken },
    );
    expect(re.status).toBe(200);
    const page = await phone();
    await page.goto(`${p.url}/app/wallet.html`);
    await page.getByLabel('Phone number').fill(who.phone);
    await page.getByLabel('Activation code').fill(re.body.activationCode);
    await page.getByLabel('PIN', { exact: true }).fill(pin);
    await page.getByLabel('PIN again').fill(pin);
    await page.getByRole('button', { name: 'Set up this phone' }).click();
    await page.getByTestId('balance').waitFor();
    who.page = page;
    who.token = await page.evaluate(
      () =>
        new Promise<string>((resolve, reject) => {
          const open = indexedDB.open('semops-wallet', 1);
          open.onerror = () => reject(new Error(String(open.error)));
          open.onsuccess = () => {
            const get = open.result.transaction('device').objectStore('device').get('current');
            get.onsuccess = () => resolve((get.result as { accessToken: string }).accessToken);
          };
        }),
    );
  }

  async function typePinAndConfirm(page: Page, pin: string) {
    await typePin(page, pin);
    await page.getByRole('button', { name: 'Confirm PIN' }).click();
  }

  async function balanceOf(url: string, token: string): Promise<bigint> {
    const me = await call<{ balance: Money }>('GET', `${url}/v1/wallet/me`, { token });
    expect(me.status).toBe(200);
    return BigInt(me.body.balance.value);
  }

  beforeAll(async () => {
    ensureWebBuilt();
    env = await freshNetwork();
    bankA = env.net.processors.get('bank-a')!.url;
    mnoB = env.net.processors.get('mno-b')!.url;
    const cafe = await env.net.processors.get('mno-b')!.admin.createMerchant({
      name: 'Café Central',
      city: 'Wien',
      category: '5812',
      currency: 'EUR',
    });
    cafeKey = cafe.apiKey;
    browser = await launchChromium();
    await setUp('bank-a', anna, 50_00n, '2468');
    await setUp('mno-b', ben, 10_00n, '1357');
  }, 120_000);

  afterAll(async () => {
    await devices.closeAll();
    await browser?.close();
    await env?.close();
  });

  it('send money: Anna (bank-a) sends to Ben’s phone (mno-b), sees his short name (Ben O.) before the PIN; Ben’s wallet shows the money', async () => {
    // The hub directory learns Ben's (blinded) phone number in the background: wait until it resolves.
    let probe = await call<{ fee: Money; kind?: string }>('POST', `${bankA}/v1/wallet/p2p/resolve`, {
      token: anna.token,
      body: { to: ben.phone },
    });
    await expect
      .poll(
        async () => {
          probe = await call('POST', `${bankA}/v1/wallet/p2p/resolve`, {
            token: anna.token,
            body: { to: ben.phone },
          });
          return probe.status;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(200);
    expect(probe.body.kind).toBe('p2p');
    const fee = BigInt(probe.body.fee.value);
    const annaBefore = await balanceOf(bankA, anna.token);
    const benBefore = await balanceOf(mnoB, ben.token);

    const w = anna.page;
    await w.getByRole('button', { name: 'Send money' }).click();
    await w.getByRole('heading', { name: 'Send money', level: 2 }).waitFor();
    // A phone number without the country code is refused on the page, with a clear message.
    await w.getByLabel('Phone number or name@processor').fill('0676 1000202');
    await w.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => w.getByTestId('send-error').innerText()).toMatch(/country code/);
    await w.getByLabel('Phone number or name@processor').fill('+43 676 1000202');
    await w.getByRole('button', { name: 'Continue' }).click();

    // Ben's name as his processor shows it (first name, initial), before any PIN is asked for.
    const confirm = w.getByTestId('confirm');
    await confirm.waitFor();
    const shown = await w.getByTestId('payee-name').innerText();
    expect(shown).toBe('Ben O.');
    expect(await confirm.innerText()).toMatch(/Send to[\s\S]*Customer of mno-b/i);
    expect(await confirm.innerText()).not.toContain('Okafor');
    expect(await w.getByTestId('pin-dots').count()).toBe(0);
    await w.getByRole('button', { name: 'Approve with PIN' }).click();
    await expect.poll(() => w.getByTestId('pay-error').innerText()).toMatch(/amount/i);
    await w.getByLabel(/^Amount/).fill('12.50');
    await screenshot(w, 'wallet-send');
    expect(await fitsWidth(w, 360)).toBe(true);

    await w.getByRole('button', { name: 'Approve with PIN' }).click();
    expect(await w.locator('.summary-mini').innerText()).toMatch(/Send €12\.50 to Ben O\./);
    await typePinAndConfirm(w, '2468');
    const receipt = w.getByTestId('receipt');
    await receipt.waitFor({ timeout: 20_000 });
    expect(await receipt.innerText()).toMatch(/Sent[\s\S]*€12\.50[\s\S]*Ben O\./);
    await w.getByRole('button', { name: 'Done' }).click();
    const annaAfter = annaBefore - 12_50n - fee;
    await expect.poll(() => w.getByTestId('balance').innerText()).toBe(euros(annaAfter));
    expect(await balanceOf(bankA, anna.token)).toBe(annaAfter);

    // Ben's wallet shows the money (it refreshes when the page gains focus or every 15 s; reload is quicker).
    const b = ben.page;
    await expect
      .poll(
        async () => {
          await b.reload();
          // Read the balance once it has loaded (a busy machine may take more than a second to answer).
          await b
            .waitForFunction(
              () => document.querySelector('[data-testid="balance"]')?.textContent !== '…',
              null,
              {
                timeout: 10_000,
              },
            )
            .catch(() => undefined);
          return b.getByTestId('balance').innerText();
        },
        { timeout: 40_000, interval: 1000 },
      )
      .toBe(euros(benBefore + 12_50n));
    expect(await b.getByTestId('activity').innerText()).toMatch(/\+€12\.50/);
    const notes = await call('GET', `${mnoB}/v1/wallet/notifications`, { token: ben.token });
    expect(notes.status, JSON.stringify(notes.body)).toBe(200);
    await expect.poll(() => b.getByTestId('notifications').innerText()).toMatch(/€12\.50/);
    expect(await fitsWidth(b, 360)).toBe(true);
  }, 90_000);

  it('request money: Ben asks Anna from his wallet; Anna pays one request from her inbox with the PIN and declines another', async () => {
    const annaBefore = await balanceOf(bankA, anna.token);
    const benBefore = await balanceOf(mnoB, ben.token);

    const b = ben.page;
    await b.goto(`${mnoB}/app/wallet.html`);
    for (const [amount, note] of [
      ['7.00', 'Concert ticket'],
      ['3.00', 'Coffee'],
    ] as const) {
      await b.getByRole('button', { name: 'Request money' }).click();
      await b.getByLabel('From (phone number or name@processor)').fill(anna.phone);
      await b.getByLabel('Amount (EUR)').fill(amount);
      await b.getByLabel('Note (optional)').fill(note);
      await b.getByRole('button', { name: 'Send request' }).click();
      const sent = b.getByTestId('request-sent');
      await sent.waitFor({ timeout: 15_000 });
      expect(await sent.innerText()).toMatch(
        new RegExp(`Request sent[\\s\\S]*€${amount.replace('.', '\\.')}`),
      );
      await b.getByRole('button', { name: 'Done' }).click();
    }

    // Anna's home screen counts the requests to pay; her inbox lists them with Ben's short name and the note.
    const w = anna.page;
    await expect
      .poll(
        async () => {
          await w.reload();
          await w.getByTestId('balance').waitFor();
          return w
            .getByTestId('inbox-count')
            .innerText({ timeout: 1000 })
            .catch(() => '0');
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toBe('2');
    await w.getByRole('button', { name: /^Inbox/ }).click();
    const open = w.getByTestId('inbox-open');
    await open.waitFor();
    const text = await open.innerText();
    expect(text).toMatch(/Ben O\.[\s\S]*(Concert ticket|Coffee)/);
    expect(text).not.toContain('Okafor');
    expect(await open.getByTestId('inbox-item').count()).toBe(2);

    await w.getByRole('button', { name: /^Pay €7\.00 to Ben O\./ }).click();
    await w.getByTestId('confirm').waitFor();
    expect(await w.getByTestId('confirm-amount').innerText()).toBe('€7.00');
    await w.getByRole('button', { name: 'Approve with PIN' }).click();
    await typePinAndConfirm(w, '2468');
    await w.getByTestId('receipt').waitFor({ timeout: 20_000 });
    await w.getByRole('button', { name: 'Done' }).click();

    // Back in the inbox: the paid request is listed under Earlier, the other still to pay.
    await expect
      .poll(() =>
        w
          .getByTestId('inbox-closed')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/€7\.00[\s\S]*Paid/);
    expect(await w.getByTestId('inbox-open').innerText()).toMatch(/Coffee[\s\S]*€3\.00[\s\S]*To pay/);
    await screenshot(w, 'wallet-inbox');
    expect(await fitsWidth(w, 360)).toBe(true);

    await w.getByRole('button', { name: /^Decline €3\.00 from Ben O\./ }).click();
    await expect.poll(() => w.getByTestId('inbox-notice').innerText()).toMatch(/You declined/);
    await expect
      .poll(() => w.getByTestId('inbox-closed').locator('[data-status="DECLINED"]').count())
      .toBe(1);
    expect(await w.getByText('Nobody is asking you for money.').isVisible()).toBe(true);

    // Money moved once, for the paid request only.
    const after = await call<{ items: Array<{ status: string; amount: Money }> }>(
      'GET',
      `${bankA}/v1/wallet/inbox`,
      { token: anna.token },
    );
    expect(after.body.items.map((i) => `${i.amount.value}:${i.status}`).sort()).toEqual([
      '300:DECLINED',
      '700:PAID',
    ]);
    // A request between two EUR wallets converts nothing, so it has no fee: Anna paid exactly €7.00.
    expect(await balanceOf(bankA, anna.token)).toBe(annaBefore - 7_00n);
    await expect.poll(() => balanceOf(mnoB, ben.token), { timeout: 15_000 }).toBe(benBefore + 7_00n);
    await b.reload();
    await expect.poll(() => b.getByTestId('balance').innerText()).toBe(euros(benBefore + 7_00n));
  });

  it('refund: the café refunds a paid sale from its POS, partly then the rest; Anna’s balance comes back', async () => {
    // A sale on the POS page, paid from Anna's wallet page with its code.
    const pos = await phone();
    await pos.goto(`${mnoB}/app/pos.html`);
    await pos.getByLabel('Merchant API key').fill(cafeKey);
    await pos.getByRole('button', { name: 'Connect' }).click();
    await pos.getByLabel('Amount (EUR)').fill('4.20');
    await pos.getByLabel('Reference (optional)').fill('Lunch');
    await pos.getByRole('button', { name: 'Show QR code' }).click();
    const status = pos.getByTestId('request-status');
    await expect.poll(() => status.getAttribute('data-status')).toBe('OPEN');
    const payload = (await pos.getByTestId('qr').getAttribute('data-payload'))!;

    const annaBefore = await balanceOf(bankA, anna.token);
    const w = anna.page;
    await w.goto(`${bankA}/app/wallet.html`);
    await w.getByRole('button', { name: 'Enter or paste a code' }).click();
    await w.getByLabel('Short code, QR text or payment link').fill(payload);
    await w.getByRole('button', { name: 'Continue' }).click();
    await w.getByTestId('confirm').waitFor();
    await w.getByRole('button', { name: 'Approve with PIN' }).click();
    await typePinAndConfirm(w, '2468');
    await w.getByTestId('receipt').waitFor({ timeout: 20_000 });
    const paymentId = await w.getByTestId('payment-id').innerText();
    expect(await balanceOf(bankA, anna.token)).toBe(annaBefore - 4_20n);
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('PAID');

    // The POS lists the sale; a partial refund first.
    const row = pos.locator(`[data-payment-id="${paymentId}"]`);
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('button', { name: 'Refund Lunch, €4.20' }).click();
    const panel = row.getByTestId('refund-panel');
    await expect.poll(() => panel.getByTestId('refund-summary').innerText()).toBe('Refunded €0.00 of €4.20');
    await panel.getByLabel('Refund amount (EUR)').fill('1.20');
    await panel.getByRole('button', { name: 'Refund this amount' }).click();
    await expect
      .poll(() =>
        panel
          .getByTestId('refund-result')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/Refunded €1\.20 to the customer|Refund of €1\.20 is on its way/);
    expect(await panel.getByTestId('refund-summary').innerText()).toBe('Refunded €1.20 of €4.20 in 1 refund');
    expect(await row.getByTestId('payment-refunded').innerText()).toBe('refunded €1.20');
    expect(await pos.getByTestId('today-refunded').innerText()).toBe('Refunded today −€1.20');
    await row.scrollIntoViewIfNeeded();
    await screenshot(pos, 'pos-refund');
    expect(await fitsWidth(pos, 360)).toBe(true);

    // More than is left: the page says so; the processor refuses it too, with its error code.
    await panel.getByLabel('Refund amount (EUR)').fill('5.00');
    await panel.getByRole('button', { name: 'Refund this amount' }).click();
    await expect
      .poll(() => panel.getByTestId('refund-error').innerText())
      .toBe('At most €3.00 is left to refund.');
    const over = await call<{ error: { code: string } }>('POST', `${mnoB}/v1/payments/${paymentId}/refunds`, {
      token: cafeKey,
      headers: { 'idempotency-key': `test-over-${paymentId}` },
      body: { amount: { value: '500', currency: 'EUR' } },
    });
    expect(over.status).toBe(422);
    expect(over.body.error.code).toBe('REFUND_EXCEEDS_PAYMENT');

    // The rest, with the amount left empty (everything left).
    await panel.getByLabel('Refund amount (EUR)').fill('');
    await panel.getByRole('button', { name: 'Refund €3.00' }).click();
    await expect
      .poll(() => panel.getByTestId('refund-summary').innerText())
      .toBe('Refunded €4.20 of €4.20 in 2 refunds');
    expect(await panel.getByText('This payment has been refunded in full.').isVisible()).toBe(true);

    const list = await call<{ refunds: Array<{ status: string; amount: Money }> }>(
      'GET',
      `${mnoB}/v1/payments/${paymentId}/refunds`,
      { token: cafeKey },
    );
    expect(list.body.refunds.map((r) => r.amount.value).sort()).toEqual(['120', '300']);

    // Anna has her money back, in her wallet page too.
    await expect
      .poll(() => balanceOf(bankA, anna.token), { timeout: 20_000, interval: 500 })
      .toBe(annaBefore);
    await w.goto(`${bankA}/app/wallet.html`);
    await expect.poll(() => w.getByTestId('balance').innerText()).toBe(euros(annaBefore));
  });

  it('ran every page within its Content-Security-Policy', () => {
    expect(devices.cspViolations()).toEqual([]);
  });
});

/** `3750n` → `€37.50`, as the en-US pages show it. */
function euros(minor: bigint): string {
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  const whole = (abs / 100n).toLocaleString('en-US');
  return `${sign}€${whole}.${String(abs % 100n).padStart(2, '0')}`;
}
