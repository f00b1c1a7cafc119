/**
 * The web pages in a real browser (Debian's Chromium) against a real network of processes: a purchase by QR
 * from the merchant POS to the wallet, enrolling and blocking a device, and a bad code.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import jsQRModule from 'jsqr';
import { encryptJson, importEncryptionKey, randomToken } from '@semops/protocol';
import { call, MerchantClient, type ProcessorInfo } from '@semops/cli';
import { freshNetwork } from '../helpers.js';
import {
  ensureWebBuilt,
  fitsWidth,
  launchChromium,
  phoneContext,
  phones,
  screenshot,
  skipReason,
  typePin,
} from './browser.js';

// jsqr is CommonJS: its function is the `default` of module.exports.
const jsQR = jsQRModule.default;
const skip = skipReason();
if (skip) console.warn(skip);

type Net = Awaited<ReturnType<typeof freshNetwork>>;

describe.skipIf(skip !== undefined)('web pages in Chromium', () => {
  let env: Net;
  let browser: Browser;
  let bankA: string;
  let mnoB: string;
  let cafeKey: string;
  /** The café's till holds a till key, never the secret key. */
  let tillKey: string;
  const devices = phones(() => browser);

  const phone = () => devices.open();

  /** A customer of bank-a with money and a fresh activation code from the operator API (no device yet). */
  async function newCustomer(name: string, phone: string, balance: bigint) {
    const p = env.net.processors.get('bank-a')!;
    const c = await p.admin.createCustomer({ phone, name, currency: 'EUR' });
    await p.admin.deposit(c.customerId, balance);
    const re = await call<{ activationCode: string }>(
      'POST',
      `${p.url}/v1/admin/customers/${c.customerId}/activation`,
      { token: p.adminToken },
    );
    expect(re.status).toBe(200);
    return { customerId: c.customerId, phone, activationCode: re.body.activationCode };
  }

  /** Sets up the wallet page through its form, as the customer does. */
  async function enrolInUi(
    page: Page,
    who: { phone: string; activationCode: string },
    pin = '2468',
    query = '',
  ) {
    await page.goto(`${bankA}/app/wallet.html${query}`);
    await page.getByLabel('Phone number').fill(who.phone);
    await page.getByLabel('Activation code').fill(who.activationCode);
    await page.getByLabel('PIN', { exact: true }).fill(pin);
    await page.getByLabel('PIN again').fill(pin);
  }

  /** What the wallet keeps in IndexedDB, as far as a page script can see it. */
  function storedDevice(page: Page) {
    return page.evaluate(
      () =>
        new Promise<{
          deviceId: string;
          accessToken: string;
          extractable: boolean;
          algorithm: string;
        } | null>((resolve, reject) => {
          const open = indexedDB.open('semops-wallet', 1);
          open.onerror = () => reject(new Error(String(open.error)));
          open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains('device')) return resolve(null);
            const get = db.transaction('device').objectStore('device').get('current');
            get.onsuccess = () => {
              const d = get.result as
                { deviceId: string; accessToken: string; privateKey: CryptoKey } | undefined;
              resolve(
                d
                  ? {
                      deviceId: d.deviceId,
                      accessToken: d.accessToken,
                      extractable: d.privateKey.extractable,
                      algorithm: d.privateKey.algorithm.name,
                    }
                  : null,
              );
            };
          };
        }),
    );
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
    tillKey = (
      await call<{ key: string }>('POST', `${mnoB}/v1/merchant/keys`, {
        token: cafeKey,
        body: { label: 'Till 1' },
      })
    ).body.key;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await devices.closeAll();
    await browser?.close();
    await env?.close();
  });

  it('serves the pages at /app/ of every processor, as an installable app', async () => {
    for (const url of [bankA, mnoB]) {
      const manifest = await call<{ start_url: string; icons: unknown[] }>(
        'GET',
        `${url}/app/manifest.webmanifest`,
      );
      expect(manifest.status).toBe(200);
      expect(manifest.body.start_url).toBe('/app/wallet.html');
    }
    const page = await phone();
    await page.goto(`${bankA}/app/`);
    await expect.poll(() => page.getByRole('heading', { name: 'SEMOPS' }).isVisible()).toBe(true);
    await page.getByText('Bank A · bank').waitFor();
    const links = await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').allInnerTexts();
    expect(links.join('\n')).toMatch(/Wallet[\s\S]*Merchant POS/);
    // The service worker that caches the app shell takes control.
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(`${bankA}/app/`);
    await screenshot(page, 'index');
  });

  it('purchase by QR: the POS shows a QR, the wallet pays it with the PIN pad, the POS turns to paid by itself', async () => {
    // The café's till (merchant of mno-b).
    const pos = await phone();
    const polled: string[] = [];
    pos.on('request', (r) => {
      if (/\/v1\/requests\/req_[^/]+$/.test(new URL(r.url()).pathname)) polled.push(r.url());
    });
    await pos.goto(`${mnoB}/app/pos.html`);
    await pos.getByLabel('Merchant API key').fill('sk_not-a-real-key-000');
    await pos.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => pos.getByRole('alert').innerText()).toContain('does not know this API key');
    await pos.getByLabel('Merchant API key').fill(tillKey);
    await pos.getByRole('button', { name: 'Connect' }).click();
    await pos.getByLabel('Amount (EUR)').fill('4.20');
    await pos.getByLabel('Reference (optional)').fill('Table 4');
    await screenshot(pos, 'pos-new-sale');
    await pos.getByRole('button', { name: 'Show QR code' }).click();
    const status = pos.getByTestId('request-status');
    await expect.poll(() => status.getAttribute('data-status')).toBe('OPEN');
    await expect
      .poll(() => pos.getByText('Live: this screen turns to paid by itself.').isVisible())
      .toBe(true);
    const payload = (await pos.getByTestId('qr').getAttribute('data-payload'))!;
    expect(payload).toMatch(/^000201/);

    // The QR drawn on the canvas decodes to exactly that payload (what a phone camera would read).
    const pixels = await pos.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid="qr"] canvas')!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
      return { width: d.width, height: d.height, data: Array.from(d.data) };
    });
    const decoded = jsQR(Uint8ClampedArray.from(pixels.data), pixels.width, pixels.height);
    expect(decoded?.data).toBe(payload);
    await screenshot(pos, 'pos-waiting');
    expect(await fitsWidth(pos, 360)).toBe(true);

    // Anna, customer of bank-a, sets up her phone in the wallet page with the operator's activation code.
    const anna = await newCustomer('Anna Berger', '+436641000101', 50_00n);
    const wallet = await phone();
    await wallet.goto(`${bankA}/app/wallet.html`);
    await wallet.getByRole('heading', { name: 'Set up this phone' }).waitFor();
    await screenshot(wallet, 'wallet-enrol');
    await enrolInUi(wallet, anna);
    await wallet.getByRole('button', { name: 'Set up this phone' }).click();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('€50.00');
    const stored = await storedDevice(wallet);
    expect(stored).toMatchObject({ extractable: false, algorithm: 'Ed25519' });
    expect(stored?.deviceId).toMatch(/^dev_/);
    await screenshot(wallet, 'wallet-home');

    // She pastes what the camera would have read (no camera in a headless browser).
    await wallet.getByRole('button', { name: 'Enter or paste a code' }).click();
    await wallet.getByLabel('Short code, QR text or payment link').fill(payload);
    await wallet.getByRole('button', { name: 'Continue' }).click();
    const confirm = wallet.getByTestId('confirm');
    await confirm.waitFor();
    expect(await confirm.innerText()).toMatch(
      /Café Central[\s\S]*Wien[\s\S]*€4\.20[\s\S]*No fee[\s\S]*Table 4/,
    );
    await screenshot(wallet, 'wallet-confirm');
    expect(await fitsWidth(wallet, 360)).toBe(true);

    await wallet.getByRole('button', { name: 'Approve with PIN' }).click();
    await typePin(wallet, '2468');
    await expect.poll(() => wallet.getByTestId('pin-dots').getAttribute('aria-label')).toMatch(/^4 of/);
    await screenshot(wallet, 'wallet-pin');
    await wallet.getByRole('button', { name: 'Confirm PIN' }).click();

    const receipt = wallet.getByTestId('receipt');
    await receipt.waitFor({ timeout: 20_000 });
    const receiptText = await receipt.innerText();
    expect(receiptText).toMatch(/Paid[\s\S]*€4\.20[\s\S]*Café Central[\s\S]*Table 4/);
    expect(receiptText).toContain('mno-b');
    const paymentId = await wallet.getByTestId('payment-id').innerText();
    expect(paymentId).toMatch(/^pay_/);
    await screenshot(wallet, 'wallet-receipt');

    // The till turns to paid by itself, over server-sent events (it never polled the request).
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('PAID');
    expect(polled).toEqual([]);
    await expect.poll(() => pos.getByTestId('today-total').innerText()).toBe('€4.20');
    expect(await pos.getByTestId('today-payments').innerText()).toContain('Table 4');
    await screenshot(pos, 'pos-paid');
    expect(await fitsWidth(pos, 360)).toBe(true);
    // A till key takes payments; the till offers no refund.
    expect(await pos.getByTestId('till-key-note').isVisible()).toBe(true);
    expect(await pos.getByRole('button', { name: /^Refund/ }).count()).toBe(0);

    // Anna's balance and activity show the payment.
    await wallet.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('€45.80');
    expect(await wallet.getByTestId('activity').innerText()).toMatch(/Café Central[\s\S]*−€4\.20/);
    // One row per payment (its reservation and posting are one movement for the customer).
    expect(await wallet.getByTestId('activity').locator('li').count()).toBe(2);
    await screenshot(wallet, 'wallet-activity');
    expect(await fitsWidth(wallet, 360)).toBe(true);
  });

  it('a bad code pasted shows a clear error and changes nothing', async () => {
    const bea = await newCustomer('Bea Kovacs', '+436641000102', 20_00n);
    const wallet = await phone();
    await enrolInUi(wallet, bea);
    await wallet.getByRole('button', { name: 'Set up this phone' }).click();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('€20.00');
    const device = (await storedDevice(wallet))!;

    // A real QR payload with one letter of the merchant name changed: its checksum no longer matches.
    const real = await new MerchantClient(mnoB, cafeKey).createRequest({
      currency: 'EUR',
      amount: { value: '300', currency: 'EUR' },
      reference: 'Damaged',
    });
    const damaged = real.qr.replace('Cafe Central', 'Cafe Centrel');
    expect(damaged).not.toBe(real.qr);
    const cases: Array<[string, RegExp]> = [
      ['2020000421', /typo; check the 10 digits/],
      ['hello, I am not a payment', /Not a SEMOPS payment code/],
      [damaged, /the code is damaged/],
      ['semops://pay?p=mno-b&r=req_01ZZZZZZZZZZZZZZZZZZZZZZZZ', /No payment request matches that code/],
    ];
    await wallet.getByRole('button', { name: 'Enter or paste a code' }).click();
    for (const [code, message] of cases) {
      await wallet.getByLabel('Short code, QR text or payment link').fill(code);
      await wallet.getByRole('button', { name: 'Continue' }).click();
      await expect
        .poll(() =>
          wallet
            .getByTestId('pay-error')
            .innerText()
            .catch(() => ''),
        )
        .toMatch(message);
      // Still on the code form, with the code kept for correcting it.
      expect(await wallet.getByLabel('Short code, QR text or payment link').inputValue()).toBe(code);
      if (code.startsWith('hello')) await screenshot(wallet, 'wallet-bad-code');
    }

    const me = await call<{ balance: { value: string } }>('GET', `${bankA}/v1/wallet/me`, {
      token: device.accessToken,
    });
    expect(me.body.balance.value).toBe('2000');
    const history = await call<{ payments: unknown[] }>('GET', `${bankA}/v1/wallet/payments`, {
      token: device.accessToken,
    });
    expect(history.body.payments).toEqual([]);
    await wallet.getByRole('button', { name: 'Back' }).click();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('€20.00');
  });

  it('enrol, then block the device: it is forgotten, and an approval it signed earlier is refused', async () => {
    const carl = await newCustomer('Carl Weiss', '+436641000103', 30_00n);
    const wallet = await phone();
    // The wallet can be opened from a payment link: after set-up it goes straight to that request.
    const cafe = new MerchantClient(mnoB, cafeKey);
    const first = await cafe.createRequest({
      currency: 'EUR',
      amount: { value: '150', currency: 'EUR' },
      reference: 'Espresso',
    });
    await enrolInUi(wallet, carl, '1357', `?code=${encodeURIComponent(first.deepLink)}`);
    await wallet.getByRole('button', { name: 'Set up this phone' }).click();
    await wallet.getByTestId('confirm').waitFor();
    expect(await wallet.getByTestId('confirm-amount').innerText()).toBe('€1.50');
    await wallet.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('€30.00');
    const device = (await storedDevice(wallet))!;

    // Two approvals signed by this phone's key, for two requests it resolved (as a thief with the phone might).
    const info = await call<ProcessorInfo>('GET', `${bankA}/v1/info`);
    const processorKey = await importEncryptionKey(info.body.encryptionKey);
    const second = await cafe.createRequest({
      currency: 'EUR',
      amount: { value: '250', currency: 'EUR' },
      reference: 'Cake',
    });
    const approvals: string[] = [];
    for (const r of [first, second]) {
      const resolved = await call<{ requestId: string; processorId: string }>(
        'POST',
        `${bankA}/v1/wallet/resolve`,
        {
          token: device.accessToken,
          body: { code: r.deepLink },
        },
      );
      expect(resolved.status).toBe(200);
      const payload = {
        deviceId: device.deviceId,
        requestId: resolved.body.requestId,
        payee: resolved.body.processorId,
        amount: r.amount,
        nonce: randomToken(16),
        expiresAt: Date.now() + 60_000,
        pin: await encryptJson({ pin: '1357' }, processorKey),
      };
      approvals.push(await signInPage(wallet, payload, device.deviceId));
    }
    // Before blocking, such an approval pays.
    const paid = await call<{ status: string }>('POST', `${bankA}/v1/wallet/payments`, {
      token: device.accessToken,
      body: { approval: approvals[0] },
    });
    expect(paid.body.status).toBe('COMPLETED');

    await wallet.reload();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('€28.50');
    await wallet.getByRole('button', { name: 'This phone and blocking it' }).click();
    await wallet.getByRole('heading', { name: 'Block this phone' }).waitFor();
    await screenshot(wallet, 'wallet-device');
    await wallet.getByRole('button', { name: 'Block this phone' }).click();
    await wallet.getByRole('button', { name: 'Yes, block it now' }).click();
    await expect
      .poll(() => wallet.getByTestId('wallet-notice').innerText())
      .toContain('This phone is blocked');
    await wallet.getByRole('heading', { name: 'Set up this phone' }).waitFor();
    expect(await storedDevice(wallet)).toBeNull();
    await screenshot(wallet, 'wallet-blocked');

    // The approval signed before the block is refused, and the device's token no longer reads anything.
    const refused = await call<{ error: { code: string } }>('POST', `${bankA}/v1/wallet/payments`, {
      token: device.accessToken,
      body: { approval: approvals[1] },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('DEVICE_BLOCKED');
    const me = await call<{ error: { code: string } }>('GET', `${bankA}/v1/wallet/me`, {
      token: device.accessToken,
    });
    expect(me.body.error.code).toBe('DEVICE_BLOCKED');
    const after = await call<{ balance: string }>('GET', `${bankA}/v1/admin/customers/${carl.customerId}`, {
      token: env.net.processors.get('bank-a')!.adminToken,
    });
    expect(after.body.balance).toBe('2850');

    // The block holds on every channel until the operator lifts it; then a new activation code sets the phone
    // up again as a new device (with the PIN the customer already has).
    const unblocked = await call('POST', `${bankA}/v1/admin/customers/${carl.customerId}/unblock`, {
      token: env.net.processors.get('bank-a')!.adminToken,
    });
    expect(unblocked.status).toBe(200);
    const again = await call<{ activationCode: string }>(
      'POST',
      `${bankA}/v1/admin/customers/${carl.customerId}/activation`,
      { token: env.net.processors.get('bank-a')!.adminToken },
    );
    await enrolInUi(wallet, { phone: carl.phone, activationCode: again.body.activationCode }, '1357');
    await wallet.getByRole('button', { name: 'Set up this phone' }).click();
    await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('€28.50');
    expect((await storedDevice(wallet))?.deviceId).not.toBe(device.deviceId);
  });

  it('pays by scanning the POS QR code with the camera (a fake camera device playing the QR)', async () => {
    const pos = await phone();
    await pos.goto(`${mnoB}/app/pos.html`);
    await pos.getByLabel('Merchant API key').fill(cafeKey);
    await pos.getByRole('button', { name: 'Connect' }).click();
    await pos.getByLabel('Amount (EUR)').fill('1.10');
    await pos.getByRole('button', { name: 'Show QR code' }).click();
    const status = pos.getByTestId('request-status');
    await expect.poll(() => status.getAttribute('data-status')).toBe('OPEN');
    const qr = await pos.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid="qr"] canvas')!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
      return { width: d.width, height: d.height, data: Array.from(d.data) };
    });
    const video = join(mkdtempSync(join(tmpdir(), 'semops-camera-')), 'qr.y4m');
    writeFileSync(video, y4mFrame(qr));

    const camera = await launchChromium([
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ]);
    try {
      const ctx = await phoneContext(camera);
      const wallet = await ctx.newPage();
      const dana = await newCustomer('Dana Horvat', '+436641000104', 10_00n);
      await enrolInUi(wallet, dana);
      await wallet.getByRole('button', { name: 'Set up this phone' }).click();
      await expect.poll(() => wallet.getByTestId('balance').innerText()).toBe('€10.00');
      await wallet.getByRole('button', { name: 'Scan QR code' }).click();
      await wallet.getByTestId('confirm').waitFor({ timeout: 15_000 });
      expect(await wallet.getByTestId('confirm-amount').innerText()).toBe('€1.10');
      await wallet.getByRole('button', { name: 'Approve with PIN' }).click();
      await typePin(wallet, '2468');
      await wallet.getByRole('button', { name: 'Confirm PIN' }).click();
      await wallet.getByTestId('receipt').waitFor({ timeout: 20_000 });
      await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('PAID');
    } finally {
      await camera.close();
    }
  });

  it('ran every page within its Content-Security-Policy', () => {
    expect(devices.cspViolations()).toEqual([]);
  });

  it('refuses an events stream without a valid merchant key', async () => {
    const cafe = new MerchantClient(mnoB, cafeKey);
    const r = await cafe.createRequest({
      currency: 'EUR',
      amount: { value: '100', currency: 'EUR' },
      reference: 'SSE',
    });
    const bad = await call<{ error: { code: string } }>(
      'GET',
      `${mnoB}/v1/requests/${r.id}/events?ticket=${'A'.repeat(40)}.${'B'.repeat(43)}`,
    );
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('UNAUTHORIZED');
  });
});

/** Signs an approval in the page with the wallet's stored, non-extractable device key (WebCrypto Ed25519). */
async function signInPage(page: Page, payload: unknown, kid: string): Promise<string> {
  return page.evaluate(
    async ({ payload, kid }) => {
      const b64u = (bytes: Uint8Array) =>
        btoa(String.fromCharCode(...bytes))
          .replace(/\+/g, '-')
          .replace(/\//g, '_')
          .replace(/=+$/, '');
      const enc = new TextEncoder();
      const key = await new Promise<CryptoKey>((resolve, reject) => {
        const open = indexedDB.open('semops-wallet', 1);
        open.onerror = () => reject(new Error(String(open.error)));
        open.onsuccess = () => {
          const get = open.result.transaction('device').objectStore('device').get('current');
          get.onsuccess = () => resolve((get.result as { privateKey: CryptoKey }).privateKey);
        };
      });
      const header = b64u(enc.encode(JSON.stringify({ alg: 'EdDSA', kid, typ: 'semops-approval+jws' })));
      const body = b64u(enc.encode(JSON.stringify(payload)));
      const sig = await crypto.subtle.sign('Ed25519', key, enc.encode(`${header}.${body}`));
      return `${header}.${body}.${b64u(new Uint8Array(sig))}`;
    },
    { payload, kid },
  );
}

/**
 * One 640×480 frame of YUV4MPEG2 video (4:2:0) with the QR picture in the middle on white: Chromium plays it
 * in a loop as the camera (`--use-file-for-fake-video-capture`).
 */
function y4mFrame(img: { width: number; height: number; data: number[] }): Buffer {
  const W = 640;
  const H = 480;
  const y = Buffer.alloc(W * H, 235);
  const x0 = Math.floor((W - img.width) / 2);
  const y0 = Math.floor((H - img.height) / 2);
  for (let j = 0; j < img.height; j++) {
    for (let i = 0; i < img.width; i++) {
      const k = (j * img.width + i) * 4;
      const luma = 0.299 * img.data[k]! + 0.587 * img.data[k + 1]! + 0.114 * img.data[k + 2]!;
      y[(y0 + j) * W + x0 + i] = Math.round(16 + (luma * 219) / 255);
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\nFRAME\n`), y, chroma]);
}
