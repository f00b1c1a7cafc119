/**
 * The phone simulator in a real browser (Debian's Chromium) against a fresh network of real processes: a
 * customer pays a merchant's request by USSD, typing on the simulated feature phone; asks the balance by
 * SMS; sends money by SMS to a person at another processor; and garbage input gets a clear reply and changes
 * nothing. The simulator server plays the SMS and USSD
 * gateways, so the processors' gateway secret must never reach the page.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { call, MerchantClient, Wallet } from '@semops/cli';
import { startSimulator, type Simulator } from '@semops/cli/simulator';
import { freshNetwork } from '../helpers.js';
import { ensureWebBuilt, fitsWidth, launchChromium, phones, screenshot, skipReason } from './browser.js';

const skip = skipReason();
if (skip) console.warn(skip);

type Net = Awaited<ReturnType<typeof freshNetwork>>;

const PHONE = '+254711000301';
const PIN = '2468';

describe.skipIf(skip !== undefined)('phone simulator in Chromium', () => {
  let env: Net;
  let browser: Browser;
  let sim: Simulator;
  let cafe: MerchantClient;
  let customerId: string;
  let esther: Wallet;
  let page: Page;
  const devices = phones(() => browser);
  /** Everything the simulator server sent to the page, to look for secrets in. */
  const served: string[] = [];

  const bankA = () => env.net.processors.get('bank-a')!;

  async function balance(): Promise<string> {
    const r = await call<{ balance: string }>('GET', `${bankA().url}/v1/admin/customers/${customerId}`, {
      token: bankA().adminToken,
    });
    expect(r.status).toBe(200);
    return r.body.balance;
  }

  /** Presses keys of the simulated phone's pad, one by one. */
  async function pressKeys(keys: string) {
    for (const k of keys) await page.getByRole('button', { name: k, exact: true }).click();
  }

  const green = () => page.getByRole('button', { name: 'Send', exact: true }).click();
  const red = () => page.getByRole('button', { name: 'End', exact: true }).click();
  const ussdScreen = () => page.getByTestId('ussd-screen');

  /** Waits for the USSD screen to settle in `state` and returns its text. */
  async function ussdAnswer(state: 'open' | 'ended'): Promise<string> {
    await expect.poll(() => ussdScreen().getAttribute('data-state'), { timeout: 20_000 }).toBe(state);
    return ussdScreen().innerText();
  }

  /** Opens the simulator page, on the demo customer's phone. */
  async function openSimulator() {
    await page.goto(sim.pageUrl);
    await expect.poll(() => page.getByLabel('Phone number').inputValue()).toBe(PHONE);
  }

  /** `Balance 45.80 EUR.`, as the processor words it, for the customer's balance now. */
  async function balanceText(): Promise<string> {
    return `Balance ${(Number(await balance()) / 100).toFixed(2)} EUR.`;
  }

  async function useChannel(name: 'USSD' | 'SMS') {
    await page.getByRole('group', { name: 'Channel' }).getByRole('button', { name }).click();
  }

  beforeAll(async () => {
    ensureWebBuilt();
    env = await freshNetwork();
    const mnoB = env.net.processors.get('mno-b')!;
    const merchant = await mnoB.admin.createMerchant({
      name: 'Café Central',
      city: 'Wien',
      category: '5812',
      currency: 'EUR',
    });
    cafe = new MerchantClient(mnoB.url, merchant.apiKey);
    // A customer of bank-a with money, enrolled once with a device so that her PIN exists.
    const c = await bankA().admin.createCustomer({ phone: PHONE, name: 'Esther Mwangi', currency: 'EUR' });
    customerId = c.customerId;
    await bankA().admin.deposit(customerId, 50_00n);
    esther = await Wallet.enrol(bankA().url, PHONE, c.activationCode, PIN);
    sim = await startSimulator({
      net: env.net,
      phones: [{ phone: PHONE, name: 'Esther Mwangi', processorId: 'bank-a' }],
    });
    browser = await launchChromium();
    page = await devices.open();
    page.on('response', (r) => {
      if (r.url().startsWith(sim.url)) {
        void r.text().then(
          (t) => served.push(t),
          () => undefined,
        );
      }
    });
  }, 120_000);

  afterAll(async () => {
    await devices.closeAll();
    await browser?.close();
    await sim?.close();
    await env?.close();
  });

  it('a USSD payment in the simulator: dial *384#, pay merchant, code, PIN, END confirmation', async () => {
    const request = await cafe.createRequest({
      currency: 'EUR',
      amount: { value: '420', currency: 'EUR' },
      reference: 'Table 7',
    });
    await openSimulator();
    expect(await page.getByLabel('Demo customer').inputValue()).toBe(PHONE);

    // Dial on the keypad, as on a feature phone.
    await pressKeys('*384#');
    expect(await page.getByLabel('Number to dial').inputValue()).toBe('*384#');
    await green();
    expect(await ussdAnswer('open')).toMatch(
      /^SEMOPS\n1 Send money\n2 Pay merchant[\s\S]*7 Block account\n8 Bills & airtime\n9 Pay requests$/,
    );

    await pressKeys('2');
    await green();
    expect(await ussdAnswer('open')).toContain('Enter merchant code');

    await pressKeys(request.shortCode);
    await green();
    expect(await ussdAnswer('open')).toMatch(/^Pay 4\.20 EUR to Cafe Central, Wien\?\nEnter PIN to approve/);

    // The PIN with the physical keyboard, in the reply field.
    await page.getByLabel('Reply').click();
    await page.keyboard.type(PIN);
    await page.keyboard.press('Enter');
    const end = await ussdAnswer('ended');
    expect(end).toMatch(/^Paid 4\.20 EUR to Cafe Central, Wien\. Receipt \S+\. Balance 45\.80 EUR\.$/);
    expect(end).not.toContain(PIN);
    await screenshot(page, 'simulator-ussd');
    expect(await fitsWidth(page, 360)).toBe(true);

    // What a person would check: her money went, and the merchant's request is paid.
    expect(await balance()).toBe('4580');
    const after = await cafe.request(request.id);
    expect(after.status).toBe('PAID');
    expect(after.payments.map((p) => p.status)).toEqual(['COMPLETED']);
  });

  it('SMS: BAL typed by multi-tap on the keypad gets the balance reply, newest first in the inbox', async () => {
    const reply = await balanceText();
    await openSimulator();
    await useChannel('SMS');
    // B = 2 twice; a pause confirms it; A = 2 once; L = 5 three times.
    await pressKeys('22');
    await page.waitForTimeout(1100);
    await pressKeys('2555');
    await expect.poll(() => page.getByLabel('Message').inputValue()).toBe('BAL');
    await green();
    await expect.poll(() => page.getByTestId('sms-popup').innerText()).toBe(reply);
    const newest = page.getByTestId('sms-inbox').locator('li').first();
    await expect.poll(() => newest.innerText()).toContain(reply);
    expect(await page.getByLabel('Message').inputValue()).toBe('');

    // The physical keyboard types too: HELP, then the newest reply is on top.
    await page.getByLabel('Message').fill('help');
    await page.keyboard.press('Enter');
    await expect.poll(() => newest.innerText()).toContain('PAY <code> [amount]');
    const texts = await page.getByTestId('sms-inbox').locator('.sms-text').allInnerTexts();
    expect(texts.slice(0, 2)).toEqual([expect.stringContaining('INBOX, BAL, MINI'), reply]);
    await page.getByLabel('Message').fill('BAL');
    await page.keyboard.press('Enter');
    await expect.poll(() => newest.innerText()).toContain(reply);
    // The picture shows the phone's screen with the reply, and the inbox under the phone.
    await page.evaluate(() => {
      const lcd = document.querySelector('.lcd')!.getBoundingClientRect();
      const header = document.querySelector('header')!.getBoundingClientRect();
      window.scrollBy(0, lcd.top - header.bottom - 8);
    });
    await screenshot(page, 'simulator-sms');
    expect(await fitsWidth(page, 360)).toBe(true);
  });

  it('garbage input gets a clear reply and changes nothing', async () => {
    const open = await cafe.createRequest({
      currency: 'EUR',
      amount: { value: '999', currency: 'EUR' },
      reference: 'Untouched',
    });
    const before = await balance();
    await openSimulator();

    // SMS: not a command.
    await useChannel('SMS');
    await page.getByLabel('Message').fill('hello?? 12 apples #*');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('sms-popup').innerText())
      .toBe('Sorry, we did not understand that. Send HELP for the commands.');

    // USSD: a wrong service code, a choice not on the menu, a code with a typo, a PIN too short.
    await useChannel('USSD');
    await pressKeys('*123#');
    await green();
    expect(await ussdAnswer('ended')).toBe('Unknown service code *123#. Dial *384# for SEMOPS.');
    await pressKeys('*384#');
    await green();
    await ussdAnswer('open');
    await pressKeys('99');
    await green();
    expect(await ussdAnswer('open')).toMatch(/^Invalid choice\.\nSEMOPS\n1 Send money/);
    await pressKeys('2');
    await green();
    const typo = open.shortCode.slice(0, -1) + String((Number(open.shortCode.at(-1)) + 1) % 10);
    await pressKeys(typo);
    await green();
    expect(await ussdAnswer('open')).toMatch(/^That payment code is not valid\. .*\nEnter merchant code/);
    await pressKeys(open.shortCode);
    await green();
    expect(await ussdAnswer('open')).toMatch(/^Pay 9\.99 EUR to Cafe Central, Wien\?/);
    await pressKeys('12');
    await green();
    expect(await ussdAnswer('open')).toMatch(/^A PIN has 4 to 6 digits\.\nPay 9\.99 EUR/);
    // The red key ends the session: nothing is paid.
    await red();
    expect(await ussdAnswer('ended')).toBe('Session ended.');
    // A reply to the ended session is a new dial, which this is not.
    await pressKeys('1234');
    await green();
    expect(await ussdAnswer('ended')).toBe('Calls are not simulated.\nDial *384# for SEMOPS.');

    expect(await balance()).toBe(before);
    expect((await cafe.request(open.id)).status).toBe('OPEN');
    const history = await cafe.payments();
    expect(history).toHaveLength(1);

    // The simulator's own API refuses malformed calls with a clear JSON error.
    const bad = await call<{ error: { code: string; message: string } }>('POST', `${sim.url}/api/sms`, {
      body: { from: 'not a phone', text: 'BAL' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(bad.body.error.message).toMatch(/phone number with country code/);
    const notJson = await call<{ error: { code: string } }>('POST', `${sim.url}/api/ussd`, {
      headers: { 'content-type': 'text/plain' },
    });
    expect(notJson.status).toBe(415);
    const stale = await call<{ error: { code: string } }>('POST', `${sim.url}/api/ussd`, {
      body: { sessionId: 'never-dialled-1', from: PHONE, text: '2' },
    });
    expect(stale.status).toBe(404);
    expect(stale.body.error.code).toBe('USSD_SESSION_NOT_FOUND');
    // A number no processor has: the processor says so, and no one's money moves.
    const stranger = await call<{ replies: string[] }>('POST', `${sim.url}/api/sms`, {
      body: { from: '+254711999999', text: 'BAL' },
    });
    expect(stranger.status).toBe(200);
    expect(stranger.body.replies).toEqual([expect.stringMatching(/^This number has no account here/)]);
    expect(await balance()).toBe(before);
  });

  it("SMS send money in the simulator: the payee's short name before the PIN, then the PIN sends", async () => {
    const mnoB = env.net.processors.get('mno-b')!;
    const ben = '+254722000302';
    const payee = await mnoB.admin.createCustomer({ phone: ben, name: 'Ben Otieno', currency: 'EUR' });
    // A new customer's blinded number reaches the hub directory within a sync interval (2 s).
    await vi.waitFor(() => esther.p2pResolve(ben), { timeout: 8000, interval: 200 });
    const before = BigInt(await balance());
    await openSimulator();
    await useChannel('SMS');
    const popup = page.getByTestId('sms-popup');
    await page.getByLabel('Message').fill(`SEND ${ben} 2.50`);
    await page.keyboard.press('Enter');
    await expect
      .poll(() => popup.innerText())
      .toBe(
        'Send 2.50 EUR to Ben O.? Reply with your PIN within 2 minutes to approve; ignore this to cancel.',
      );
    expect(BigInt(await balance())).toBe(before);
    await page.getByLabel('Message').fill(PIN);
    await page.keyboard.press('Enter');
    await expect.poll(() => popup.innerText()).toMatch(/^Sent 2\.50 EUR to Ben O\. Receipt \S+\. Balance /);
    await screenshot(page, 'simulator-sms-send');
    // What a person would check: her money went, and Ben got exactly that.
    expect(BigInt(await balance())).toBe(before - 2_50n);
    await expect
      .poll(async () => {
        const r = await call<{ balance: string }>(
          'GET',
          `${mnoB.url}/v1/admin/customers/${payee.customerId}`,
          {
            token: mnoB.adminToken,
          },
        );
        return r.body.balance;
      })
      .toBe('250');
    const texts = await page.getByTestId('sms-inbox').locator('.sms-text').allInnerTexts();
    for (const t of texts) expect(t).not.toContain(PIN);
  });

  it('keeps the gateway secret and the operator token out of the browser', async () => {
    await expect.poll(() => served.length).toBeGreaterThan(5);
    const secrets = [...env.net.processors.values()].flatMap((p) => [
      readFileSync(join(p.dataDir, 'secrets', 'sms-gateway-token.secret'), 'utf8').trim(),
      p.adminToken,
    ]);
    for (const body of served) for (const s of secrets) expect(body).not.toContain(s);
    expect(devices.cspViolations()).toEqual([]);
  });
});
