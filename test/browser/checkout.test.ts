/**
 * The checkout button in a real browser (Debian's Chromium) on the example shop, against a fresh network of
 * real processes: the dialog shows a QR that decodes to the request, the customer pays with the wallet API,
 * the signed webhook marks the order paid, the page reports it and returns to the shop. On a phone the
 * dialog offers the wallet app; closing it cancels the request.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import jsQRModule from 'jsqr';
import { SemopsMerchant } from '@semops/merchant-sdk';
import { startShop, type Shop } from '@semops/cli/shop';
import { freshNetwork } from '../helpers.js';
import { launchChromium, phoneContext, screenshot, skipReason } from './browser.js';

// jsqr is CommonJS: its function is the `default` of module.exports.
const jsQR = jsQRModule.default;
const skip = skipReason();
if (skip) console.warn(skip);

interface CheckoutAnswer {
  id: string;
  requestId: string;
  qr: string;
  deepLink: string;
  shortCode: string;
  wallets: Array<{ name: string; url: string }>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const a = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  return typeof a === 'object' && a ? a.port : 0;
}

/** Records the button's DOM events on the page, for the test to read. */
async function recordEvents(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { semopsEvents: Array<{ type: string; detail: unknown }> };
    w.semopsEvents = [];
    for (const type of ['semops:paid', 'semops:failed']) {
      document.addEventListener(type, (e) =>
        w.semopsEvents.push({ type, detail: (e as CustomEvent).detail }),
      );
    }
  });
}
const events = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { semopsEvents: Array<{ type: string; detail: Record<string, unknown> }> })
        .semopsEvents,
  );

/** Clicks the first book's button and returns the shop's answer to the button. */
async function startCheckout(page: Page): Promise<CheckoutAnswer> {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/checkout')),
    page.getByRole('button', { name: 'Pay The Credit-Push Handbook with SEMOPS' }).click(),
  ]);
  expect(res.status()).toBe(201);
  return (await res.json()) as CheckoutAnswer;
}

describe.skipIf(skip !== undefined)('checkout button in Chromium', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let shop: Shop;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    env = await freshNetwork();
    const port = await freePort();
    const p = env.ctx.processor('bank-a');
    const m = await env.ctx.merchant(
      'bank-a',
      'Bookshop Hofer Online',
      `http://127.0.0.1:${port}/webhooks/semops`,
    );
    shop = await startShop({
      merchant: new SemopsMerchant({ baseUrl: p.url, apiKey: m.apiKey }),
      webhookSecret: m.webhookSecret,
      name: 'Bookshop Hofer',
      port,
      walletLinks: [...env.net.processors.values()].map((x) => ({
        name: `${x.spec.name} wallet`,
        url: `${x.url}/app/wallet.html`,
      })),
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await shop?.close();
    await env?.close();
  });

  it('desktop: QR dialog, paid in the wallet, the page reports it and returns to the shop', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 820 }, locale: 'en-US' });
    contexts.push(ctx);
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(shop.url);
    await recordEvents(page);
    const co = await startCheckout(page);

    const dialog = page.getByRole('dialog', { name: 'Pay with SEMOPS' });
    await dialog.waitFor();
    await expect.poll(() => dialog.locator('.qr').isVisible()).toBe(true);
    expect(await dialog.locator('.amount').innerText()).toBe('12.50 EUR');
    expect((await dialog.locator('.code').innerText()).replace(/\s/g, '')).toBe(co.shortCode);
    expect(await dialog.getByRole('status').innerText()).toContain('Waiting for approval');
    expect(await dialog.getByRole('link', { name: 'Open my wallet app' }).isVisible()).toBe(false);
    const bankAWallet = co.wallets.find((w) => w.name === 'Bank A wallet')!;
    expect(bankAWallet.url).toBe(`${env.ctx.processor('bank-a').url}/app/wallet.html?code=${co.shortCode}`);
    const walletLink = dialog.getByRole('link', { name: 'Bank A wallet' });
    expect(await walletLink.getAttribute('href')).toBe(bankAWallet.url);

    // The QR as drawn decodes to exactly the request's EMV payload (what a phone camera reads).
    const pixels = await dialog.locator('.qr').evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      const c = document.createElement('canvas');
      c.width = c.height = 400;
      const g = c.getContext('2d')!;
      g.fillStyle = '#fff';
      g.fillRect(0, 0, 400, 400);
      g.drawImage(img, 0, 0, 400, 400);
      const d = g.getImageData(0, 0, 400, 400);
      return { width: d.width, height: d.height, data: Array.from(d.data) };
    });
    const decoded = jsQR(Uint8ClampedArray.from(pixels.data), pixels.width, pixels.height);
    expect(decoded?.data).toBe(co.qr);
    expect(co.qr).toMatch(/^000201/);
    await screenshot(page, 'checkout');

    // Ben, a customer of the other processor, approves on his phone.
    const ben = await env.ctx.customer('mno-b', 40_00n, 'Ben Okafor');
    expect((await ben.wallet.pay(co.qr, '1234')).status).toBe('COMPLETED');

    await expect
      .poll(() => dialog.getByRole('status').innerText(), { timeout: 10_000 })
      .toBe('Paid. Thank you!');
    const paid = (await events(page)).find((e) => e.type === 'semops:paid');
    expect(paid?.detail).toMatchObject({ orderId: co.id, status: 'PAID' });
    await screenshot(page, 'checkout-paid');

    // data-return-url="/?paid={order}": back on the shop page, which shows the order as paid.
    await page.waitForURL(`${shop.url}/?paid=${co.id}`, { timeout: 10_000 });
    await expect
      .poll(() => page.getByRole('status').first().innerText())
      .toBe(`Order ${co.id} (The Credit-Push Handbook): paid.`);
    await expect.poll(() => page.locator(`tr[data-order="${co.id}"] .status`).innerText()).toBe('paid');
    expect(pageErrors).toEqual([]);
  });

  it('phone: the dialog opens the wallet app and offers it again; closing it cancels the request', async () => {
    const ctx = await phoneContext(browser);
    contexts.push(ctx);
    const page = await ctx.newPage();
    const launched: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith('semops:')) launched.push(r.url());
    });
    await page.goto(shop.url);
    const co = await startCheckout(page);
    const dialog = page.getByRole('dialog', { name: 'Pay with SEMOPS' });
    const open = dialog.getByRole('link', { name: 'Open my wallet app' });
    await expect.poll(() => open.isVisible()).toBe(true);
    expect(await open.getAttribute('href')).toBe(co.deepLink);
    await expect.poll(() => launched).toEqual([co.deepLink]); // the page tried to open the wallet app
    expect(page.url()).toBe(`${shop.url}/`); // and stayed on the shop
    expect((await dialog.locator('.code').innerText()).replace(/\s/g, '')).toBe(co.shortCode);
    await screenshot(page, 'checkout-phone');

    // Headless Chromium takes no more input after an app launch with no app installed, so the close is
    // tried on a fresh page whose button does not open the app by itself (data-auto-open="false").
    const page2 = await ctx.newPage();
    await page2.goto(shop.url);
    await recordEvents(page2);
    await page2.evaluate(() =>
      document
        .querySelectorAll<HTMLElement>('[data-semops-checkout]')
        .forEach((b) => (b.dataset.autoOpen = 'false')),
    );
    const co2 = await startCheckout(page2);
    const dialog2 = page2.getByRole('dialog', { name: 'Pay with SEMOPS' });
    await expect.poll(() => dialog2.getByRole('link', { name: 'Open my wallet app' }).isVisible()).toBe(true);
    expect(launched).toHaveLength(1);
    await dialog2.getByRole('button', { name: 'Close' }).click();
    await expect
      .poll(async () => (await events(page2)).map((e) => e.type), { timeout: 10_000 })
      .toEqual(['semops:failed']);
    expect((await events(page2))[0]!.detail).toMatchObject({ orderId: co2.id, status: 'CANCELLED' });
    expect(await page2.locator('semops-checkout-dialog').count()).toBe(0);
    expect(shop.orders.get(co2.id)?.status).toBe('CANCELLED');
    const clara = await env.ctx.customer('bank-a', 30_00n);
    await expect(clara.wallet.pay(co2.shortCode, '1234')).rejects.toMatchObject({
      code: 'REQUEST_CANCELLED',
    });
  });
});
