/**
 * A cross-border payment in a real browser (Debian's Chromium) against a real network of processes: Dóra,
 * a bank-c customer with a HUF account, pays the café (a merchant of mno-b) 10.00 EUR from the wallet page.
 * The confirm screen shows bank-c's exchange-rate quote — the total in HUF, the rate, the conversion fee and
 * how long the price holds — before the PIN pad opens; the receipt shows the amount charged, and her balance
 * drops by exactly that. Then the quote runs out while she is on the PIN pad (the operator shortened bank-c's
 * quote validity, and the reference rate moved): the processor refuses it, the wallet shows the new price
 * and asks again, nothing is debited, and approving again pays at the new quote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { call, FxAdmin, MerchantClient, type FxSettings } from '@semops/cli';
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
interface Quote {
  quoteId: string;
  total: Money;
  rate: string;
  expiresAt: number;
}
interface WalletPayment {
  paymentId: string;
  status: string;
  amount: Money;
  charged?: Money;
  fx?: { quoteId: string; rate: string; fee: Money };
}

describe.skipIf(skip !== undefined)('cross-border payment with an FX quote in Chromium', () => {
  let env: Net;
  let browser: Browser;
  let bankC: string;
  let cafe: MerchantClient;
  /** bank-c's operator API for currency conversion (admin token). */
  let fx: FxAdmin;
  /** bank-c's settings before the test changed them. */
  let original: FxSettings;
  const devices = phones(() => browser);

  /** Dóra: customer of bank-c (HUF account), with the wallet page set up on her phone. */
  const dora = { name: 'Dóra Szabó', phone: '+36301000301', token: '', page: undefined as unknown as Page };

  const phone = () => devices.open();

  /**
   * The text that sticks out of the card `testId` sideways at `width` pixels (an amount or rate that does not
   * wrap can overflow its card without the page scrolling sideways, which `fitsWidth` would notice).
   */
  async function spills(page: Page, testId: string, width: number): Promise<string[]> {
    const before = page.viewportSize()!;
    await page.setViewportSize({ width, height: before.height });
    const out = await page.getByTestId(testId).evaluate((card) => {
      const box = card.getBoundingClientRect();
      const walker = document.createTreeWalker(card, NodeFilter.SHOW_TEXT);
      const range = document.createRange();
      const found: string[] = [];
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.textContent?.trim()) continue;
        range.selectNodeContents(n);
        const r = range.getBoundingClientRect();
        if (r.left < box.left - 0.5 || r.right > box.right + 0.5) found.push(n.textContent.trim());
      }
      return found;
    });
    await page.setViewportSize(before);
    return out;
  }

  /** Fits a 360-pixel phone and the 390-pixel one, nothing spilling out of the card `testId`. */
  async function fitsPhone(page: Page, testId: string) {
    expect(await fitsWidth(page, 360)).toBe(true);
    for (const width of [360, 390]) expect(await spills(page, testId, width), `at ${width} px`).toEqual([]);
  }

  /** The confirm screen counts down the quote's validity, never showing more than bank-c gives a quote. */
  async function expectHeldFor(page: Page) {
    const text = await page.getByTestId('fx-valid').innerText();
    const m = /^Price held for (\d+):(\d\d)$/.exec(text);
    expect(m, text).not.toBeNull();
    const seconds = Number(m![1]) * 60 + Number(m![2]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(original.quoteTtlMs / 1000);
  }

  /** Dóra's balance in minor units, as her processor has it. */
  async function balance(): Promise<bigint> {
    const me = await call<{ balance: Money }>('GET', `${bankC}/v1/wallet/me`, { token: dora.token });
    expect(me.status).toBe(200);
    expect(me.body.balance.currency).toBe('HUF');
    return BigInt(me.body.balance.value);
  }

  async function walletPayments(): Promise<WalletPayment[]> {
    const r = await call<{ payments: WalletPayment[] }>('GET', `${bankC}/v1/wallet/payments`, {
      token: dora.token,
    });
    expect(r.status).toBe(200);
    return r.body.payments;
  }

  /**
   * The café asks for 10.00 EUR; Dóra pastes what the camera would have read from its QR (no camera in a
   * headless browser). Returns the quote her processor made when it resolved the request.
   */
  async function openCafeRequest(page: Page, reference: string): Promise<Quote> {
    const r = await cafe.createRequest({
      currency: 'EUR',
      amount: { value: '1000', currency: 'EUR' },
      reference,
    });
    await page.getByRole('button', { name: 'Enter or paste a code' }).click();
    await page.getByLabel('Short code, QR text or payment link').fill(r.qr);
    const resolved = page.waitForResponse(
      (res) => new URL(res.url()).pathname === '/v1/wallet/resolve' && res.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Continue' }).click();
    const quote = ((await (await resolved).json()) as { quote: Quote }).quote;
    await page.getByTestId('confirm').waitFor();
    return quote;
  }

  beforeAll(async () => {
    ensureWebBuilt();
    env = await freshNetwork();
    const c = env.net.processors.get('bank-c')!;
    bankC = c.url;
    fx = new FxAdmin(c.url, c.adminToken);
    original = await fx.fx();
    const mnoB = env.net.processors.get('mno-b')!;
    const m = await mnoB.admin.createMerchant({
      name: 'Café Central',
      city: 'Wien',
      category: '5812',
      currency: 'EUR',
    });
    cafe = new MerchantClient(mnoB.url, m.apiKey);
    browser = await launchChromium();

    // Dóra sets up her phone in bank-c's wallet page with the operator's activation code.
    const customer = await c.admin.createCustomer({ phone: dora.phone, name: dora.name, currency: 'HUF' });
    await c.admin.deposit(customer.customerId, 100_000_00n);
    const re = await call<{ activationCode: string }>(
      'POST',
      `${c.url}/v1/admin/customers/${customer.customerId}/activation`,
      { token: c.adminToken },
    );
    expect(re.status).toBe(200);
    const page = await phone();
    await page.goto(`${bankC}/app/wallet.html`);
    await page.getByLabel('Phone number').fill(dora.phone);
    await page.getByLabel('Activation code').fill(re.body.activationCode);
    await page.getByLabel('PIN', { exact: true }).fill('2468');
    await page.getByLabel('PIN again').fill('2468');
    await page.getByRole('button', { name: 'Set up this phone' }).click();
    await page.getByTestId('balance').waitFor();
    dora.page = page;
    dora.token = await page.evaluate(
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
  }, 120_000);

  afterAll(async () => {
    // The operator's settings and the reference rates file back, whatever happened.
    if (fx && original) {
      await fx.setConfig({ quoteTtlMs: original.quoteTtlMs }).catch(() => undefined);
      await fx.reload().catch(() => undefined);
    }
    await devices.closeAll();
    await browser?.close();
    await env?.close();
  });

  it('shows the quote (total in HUF, rate, fee) before the PIN pad, and charges exactly that', async () => {
    const wallet = dora.page;
    // Exact to the fillér: the browser's own currency format would show `HUF 100,000`.
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('100000.00 HUF');
    const before = await balance();
    const shown = await openCafeRequest(wallet, 'Table 7');
    // The worked example of docs/settlement.md: 10.00 EUR at 392.45 × 1.005 → 3944.13 HUF + 100.00 HUF fee.
    expect(shown).toMatchObject({
      rate: '1 EUR = 394.412250 HUF',
      total: { value: '404413', currency: 'HUF' },
    });

    // The quote is on the confirm screen, and no PIN pad yet.
    expect(await wallet.getByTestId('confirm-amount').innerText()).toBe('€10.00');
    expect(await wallet.getByTestId('fx-total').innerText()).toBe('4044.13 HUF');
    expect(await wallet.getByTestId('fx-rate').innerText()).toBe('1 EUR = 394.412250 HUF');
    expect(await wallet.getByTestId('fee').innerText()).toBe('100.00 HUF');
    expect(await wallet.getByTestId('fx-converted').innerText()).toBe('3944.13 HUF');
    await expectHeldFor(wallet);
    expect(await wallet.getByTestId('confirm').innerText()).toMatch(
      /Café Central[\s\S]*€10\.00[\s\S]*1 EUR = 394\.412250 HUF[\s\S]*100\.00 HUF[\s\S]*You pay[\s\S]*4044\.13 HUF[\s\S]*Table 7[\s\S]*Approve with PIN/,
    );
    expect(await wallet.getByLabel('PIN pad').count()).toBe(0);
    await screenshot(wallet, 'wallet-fx-quote');
    await fitsPhone(wallet, 'confirm');

    // The PIN pad repeats what she pays.
    await wallet.getByRole('button', { name: 'Approve with PIN' }).click();
    await wallet.getByLabel('PIN pad').waitFor();
    expect(await wallet.getByTestId('pin-fx').innerText()).toBe('You pay 4044.13 HUF');
    await fitsPhone(wallet, 'pin-summary');
    await typePin(wallet, '2468');
    await wallet.getByRole('button', { name: 'Confirm PIN' }).click();

    const receipt = wallet.getByTestId('receipt');
    await receipt.waitFor({ timeout: 20_000 });
    expect(await receipt.innerText()).toMatch(/Paid[\s\S]*€10\.00[\s\S]*Café Central[\s\S]*Table 7/);
    expect(await wallet.getByTestId('charged').innerText()).toBe('4044.13 HUF');
    expect(await wallet.getByTestId('charged-rate').innerText()).toBe('1 EUR = 394.412250 HUF');
    expect(await wallet.getByTestId('charged-fee').innerText()).toBe('100.00 HUF');
    await screenshot(wallet, 'wallet-fx-receipt');
    await fitsPhone(wallet, 'receipt');

    // Her account is debited exactly the quoted total; the café receives exactly 10.00 EUR.
    const paymentId = await wallet.getByTestId('payment-id').innerText();
    const paid = (await walletPayments()).find((p) => p.paymentId === paymentId);
    expect(paid).toMatchObject({
      status: 'COMPLETED',
      amount: { value: '1000', currency: 'EUR' },
      charged: { value: '404413', currency: 'HUF' },
      fx: { quoteId: shown.quoteId },
    });
    expect(before - (await balance())).toBe(404413n);
    await expect
      .poll(async () => (await cafe.payments()).map((p) => [p.status, p.amount.value, p.amount.currency]))
      .toEqual([['COMPLETED', '1000', 'EUR']]);

    await wallet.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('95955.87 HUF');
    // One activity row for the payment at its total (the conversion, margin and fee legs merged).
    await expect
      .poll(() => wallet.getByTestId('activity').innerText())
      .toMatch(/Café Central[\s\S]*Table 7[\s\S]*−4044\.13 HUF/);
  });

  it('a quote that expires on the PIN pad is refused with the new price, nothing is debited, and approving again pays at it', async () => {
    const wallet = dora.page;
    const before = await balance();
    const paymentsBefore = (await walletPayments()).length;

    // The operator shortens bank-c's quote validity to one second.
    const short = await call<FxSettings>('PUT', `${bankC}/v1/admin/fx/config`, {
      token: env.net.processors.get('bank-c')!.adminToken,
      body: { quoteTtlMs: 1000 },
    });
    expect(short.status).toBe(200);
    expect(short.body.quoteTtlMs).toBe(1000);
    let first: Quote;
    try {
      first = await openCafeRequest(wallet, 'Table 8');
      expect(first.expiresAt - Date.now()).toBeLessThanOrEqual(1000);
      // She opens the PIN pad while the price holds…
      await wallet.getByRole('button', { name: 'Approve with PIN' }).click();
      await wallet.getByLabel('PIN pad').waitFor();
      expect(await wallet.getByTestId('pin-fx').innerText()).toBe('You pay 4044.13 HUF');
    } finally {
      // …and the operator puts the validity back (quotes made from now on hold as before).
      await fx.setConfig({ quoteTtlMs: original.quoteTtlMs });
    }
    // Meanwhile the reference rate moves, and she hesitates until the quote has run out.
    await fx.setRates([{ base: 'EUR', quote: 'HUF', rate: '400.00' }]);
    // The PIN pad shows when the price has run out (bank-c judges expiry on the same clock).
    await expect
      .poll(() => wallet.getByTestId('pin-fx-detail').innerText(), { timeout: 10_000 })
      .toContain('price expired: you will see the new one');

    // She enters her PIN: bank-c refuses the expired quote and answers with a new one.
    const refused = wallet.waitForResponse(
      (res) => new URL(res.url()).pathname === '/v1/wallet/payments' && res.request().method() === 'POST',
    );
    await typePin(wallet, '2468');
    await wallet.getByRole('button', { name: 'Confirm PIN' }).click();
    const answer = await refused;
    expect(answer.status()).toBe(409);
    const error = ((await answer.json()) as { error: { code: string; details: { quote: Quote } } }).error;
    expect(error.code).toBe('QUOTE_EXPIRED');
    const fresh = error.details.quote;
    // 10.00 EUR at 400.00 × 1.005 = 4020.00 HUF, + 100.00 HUF fee.
    expect(fresh).toMatchObject({
      rate: '1 EUR = 402.000000 HUF',
      total: { value: '412000', currency: 'HUF' },
    });
    expect(fresh.quoteId).not.toBe(first.quoteId);

    // The wallet is back on the confirm screen with the new price, says why, and asks again.
    await wallet.getByTestId('confirm').waitFor();
    expect(await wallet.getByTestId('fx-expired').innerText()).toMatch(
      /exchange rate expired[\s\S]*Nothing was paid[\s\S]*new price and approve again/,
    );
    expect(await wallet.getByTestId('fx-quote').innerText()).toMatch(/^New price in HUF/i);
    expect(await wallet.getByTestId('fx-total').innerText()).toBe('4120.00 HUF');
    expect(await wallet.getByTestId('fx-was').innerText()).toBe('was 4044.13 HUF');
    expect(await wallet.getByTestId('fx-rate').innerText()).toBe('1 EUR = 402.000000 HUF');
    expect(await wallet.getByTestId('fee').innerText()).toBe('100.00 HUF');
    await expectHeldFor(wallet);
    expect(await wallet.getByLabel('PIN pad').count()).toBe(0);
    await screenshot(wallet, 'wallet-fx-expired');
    await fitsPhone(wallet, 'confirm');

    // Nothing was debited, and no payment was made.
    expect(await balance()).toBe(before);
    expect((await walletPayments()).length).toBe(paymentsBefore);

    // She approves the new price: it pays at exactly that quote.
    await wallet.getByRole('button', { name: 'Approve with PIN' }).click();
    await wallet.getByLabel('PIN pad').waitFor();
    expect(await wallet.getByTestId('pin-fx').innerText()).toBe('You pay 4120.00 HUF');
    await typePin(wallet, '2468');
    await wallet.getByRole('button', { name: 'Confirm PIN' }).click();
    await wallet.getByTestId('receipt').waitFor({ timeout: 20_000 });
    expect(await wallet.getByTestId('charged').innerText()).toBe('4120.00 HUF');
    expect(await wallet.getByTestId('charged-rate').innerText()).toBe('1 EUR = 402.000000 HUF');
    const paymentId = await wallet.getByTestId('payment-id').innerText();
    const paid = (await walletPayments()).find((p) => p.paymentId === paymentId);
    expect(paid).toMatchObject({
      status: 'COMPLETED',
      charged: { value: '412000', currency: 'HUF' },
      fx: { quoteId: fresh.quoteId },
    });
    expect(before - (await balance())).toBe(412000n);

    await wallet.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('91835.87 HUF');

    // The operator's settings are back: the reference rates file, and the validity as before.
    const restored = await fx.reload();
    expect(restored.quoteTtlMs).toBe(original.quoteTtlMs);
    expect(restored.rates).toEqual(original.rates);
  });

  it('ran every page within its Content-Security-Policy', () => {
    expect(devices.cspViolations()).toEqual([]);
  });
});
