/**
 * Cross-border payment in a real browser (Debian's Chromium) against a real network of processes: a bank-c
 * customer (HUF account) pays an mno-b merchant's 10.00 EUR request from the wallet page. The confirm screen
 * shows bank-c's exchange-rate quote (what the account is charged, the rate, the conversion fee, how long the
 * price holds) before the PIN pad; the receipt shows the amount charged in HUF. When the quote expires while
 * the customer hesitates on the PIN pad, the processor refuses it with a new one, the wallet shows that new
 * price and asks again, nothing is debited, and approving again pays at the new quote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { call, FxAdmin, MerchantClient, type FxSettings } from '@semops/cli';
import { freshNetwork, sleep } from '../helpers.js';
import {
  ensureWebBuilt,
  fitsWidth,
  launchChromium,
  phoneContext,
  screenshot,
  skipReason,
} from './browser.js';

const skip = skipReason();
if (skip) console.warn(skip);

type Net = Awaited<ReturnType<typeof freshNetwork>>;
interface Money {
  value: string;
  currency: string;
}

describe.skipIf(skip !== undefined)('cross-border payment with an FX quote in Chromium', () => {
  let env: Net;
  let browser: Browser;
  let bankC: string;
  let cafe: MerchantClient;
  let fx: FxAdmin;
  let original: FxSettings;
  const contexts: BrowserContext[] = [];
  const consoleErrors: string[] = [];

  /** Dóra: customer of bank-c, HUF account, with the wallet page set up. */
  const dora = { name: 'Dóra Szabó', phone: '+36301000301', token: '', page: undefined as unknown as Page };

  async function phone(): Promise<Page> {
    const ctx = await phoneContext(browser);
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    return page;
  }

  async function typePin(page: Page, pin: string) {
    for (const d of pin) await page.getByRole('button', { name: d, exact: true }).click();
  }

  async function balance(): Promise<bigint> {
    const me = await call<{ balance: Money }>('GET', `${bankC}/v1/wallet/me`, { token: dora.token });
    expect(me.status).toBe(200);
    expect(me.body.balance.currency).toBe('HUF');
    return BigInt(me.body.balance.value);
  }

  /** The café's 10.00 EUR request, pasted into the wallet as the camera would have read its QR. */
  async function openRequest(page: Page, reference: string) {
    const r = await cafe.createRequest({
      currency: 'EUR',
      amount: { value: '1000', currency: 'EUR' },
      reference,
    });
    await page.getByRole('button', { name: 'Enter or paste a code' }).click();
    await page.getByLabel('Short code, QR text or payment link').fill(r.qr);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByTestId('confirm').waitFor();
    return r;
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
    await page.getByLabel('New PIN').fill('2468');
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
    // Back to the operator's settings and the reference rates file, whatever happened.
    await fx?.setConfig({ quoteTtlMs: original.quoteTtlMs }).catch(() => undefined);
    await fx?.reload().catch(() => undefined);
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await env?.close();
  });

  it('shows the quote (total in HUF, rate, fee) before the PIN pad and charges exactly that', async () => {
    const wallet = dora.page;
    const before = await balance();
    await openRequest(wallet, 'Table 7');
    await screenshot(wallet, 'wallet-fx-quote');
    console.log(await wallet.getByTestId('confirm').innerText());
    await wallet.getByRole('button', { name: 'Approve with PIN' }).click();
    await typePin(wallet, '2468');
    await screenshot(wallet, 'wallet-fx-pin');
    await wallet.getByRole('button', { name: 'Confirm PIN' }).click();
    const receipt = wallet.getByTestId('receipt');
    await receipt.waitFor({ timeout: 20_000 });
    console.log(await receipt.innerText());
    await screenshot(wallet, 'wallet-fx-receipt');
    console.log(before - (await balance()));
    await wallet.getByRole('button', { name: 'Done' }).click();
    await wallet.getByTestId('balance').waitFor();
    await sleep(500);
    await screenshot(wallet, 'wallet-fx-home');
    console.log(await fitsWidth(wallet, 360));
  });
});
