/**
 * Paying without a smartphone: by SMS (PAY <code>, then the PIN; SEND <phone> <amount>, then the PIN) and by
 * USSD menus, through the operator's gateway webhooks.
 */
import {
  check,
  checkMerchantReceived,
  checkRequestPaid,
  eur,
  operatorGateway,
  sale,
  waitUntil,
  type GatewayAnswer,
  type Scenario,
} from '../testkit/index.js';

/**
 * Asks until the payee's processor answers for them: a new customer's blinded phone number reaches the hub
 * directory within a sync interval (2 s); asking about an unknown recipient changes nothing.
 */
const untilKnown = (ask: () => Promise<GatewayAnswer>) =>
  waitUntil(ask, (a) => a.code !== 'ALIAS_NOT_FOUND', { timeoutMs: 8000, intervalMs: 200 });

export const CHANNEL_SCENARIOS: readonly Scenario[] = [
  {
    name: 'SMS payment: PAY <code> then PIN',
    async run(ctx) {
      const request = { currency: 'EUR', amount: eur(12_50n), reference: 'sms-1' };
      const { c, m, req } = await sale(ctx, 'bank-a', 100_00n, 'mno-b', request, 'Café Central');
      const gw = operatorGateway(ctx, 'bank-a');
      const ask = await gw.sms(c.phone, `PAY ${req.shortCode}`);
      check(/^Pay 12\.50 EUR to Cafe Central, Wien .*PIN within 2 minutes/.test(ask), `PAY answered: ${ask}`);
      check((await c.wallet.balance()) === 100_00n, 'charged before the PIN');
      const done = await gw.sms(c.phone, '1234');
      check(/^Paid 12\.50 EUR to Cafe Central, Wien\. Receipt rct_/.test(done), `PIN answered: ${done}`);
      const again = await gw.sms(c.phone, '1234');
      check(/No payment is waiting/.test(again), `second PIN answered: ${again}`);
      const bal = await c.wallet.balance();
      check(bal === 87_50n, `customer balance ${bal}`);
      await checkRequestPaid(m, req.id);
      await checkMerchantReceived(ctx, m, 12_50n);
      const texts = await gw.texts(c.phone);
      check(texts.length === 6, `${texts.length} texts stored`);
      check(!texts.some((x) => /(^|\D)1234(\D|$)/.test(x.text)), 'the PIN appears in a stored SMS');
      check(texts.filter((x) => x.direction === 'in' && x.text === '****').length === 2, 'PIN not redacted');
      return `PAY ${req.shortCode} → "${ask.slice(0, 40)}…"; PIN → paid 12.50 EUR bank-a → mno-b; ${texts.length} texts stored, PIN in none`;
    },
  },
  {
    name: 'USSD payment: pay merchant by code',
    async run(ctx) {
      const request = { currency: 'EUR', amount: eur(7_80n), reference: 'ussd-1' };
      const { c, m, req } = await sale(ctx, 'mno-b', 50_00n, 'bank-a', request, 'Ticket Office');
      const gw = operatorGateway(ctx, 'mno-b');
      const session = `scenario-${Date.now()}`;
      const screens: string[] = [];
      for (const text of ['', '2', `2*${req.shortCode}`, `2*${req.shortCode}*1234`]) {
        screens.push(await gw.ussd(session, c.phone, text));
      }
      const [menu, askCode, confirm, done] = screens;
      check(menu?.startsWith('CON ') && menu.includes('2 Pay merchant'), `menu: ${menu}`);
      check(askCode === 'CON Enter merchant code:\n0 Back', `code screen: ${askCode}`);
      check(confirm?.startsWith('CON Pay 7.80 EUR to Ticket Office, Wien?'), `confirm screen: ${confirm}`);
      check(
        /^END Paid 7\.80 EUR to Ticket Office, Wien\. Receipt rct_/.test(done ?? ''),
        `final screen: ${done}`,
      );
      check(
        screens.every((x) => [...x].length <= 160),
        'a screen is longer than 160 characters',
      );
      check(!screens.some((x) => x.includes('1234')), 'a screen shows the PIN');
      const retry = await gw.ussd(session, c.phone, `2*${req.shortCode}*1234`);
      check(retry === done, `gateway retry answered: ${retry}`);
      const bal = await c.wallet.balance();
      check(bal === 42_20n, `customer balance ${bal}`);
      await checkRequestPaid(m, req.id);
      await checkMerchantReceived(ctx, m, 7_80n);
      return `*384# → 2 → ${req.shortCode} → PIN: paid 7.80 EUR mno-b → bank-a in 4 screens (≤160 chars, PIN never shown); retry paid nothing more`;
    },
  },
  {
    name: 'SMS send money: SEND <phone> <amount> then PIN, bank-a → mno-b',
    async run(ctx) {
      const gw = operatorGateway(ctx, 'bank-a');
      const payer = await ctx.customer('bank-a', 50_00n, 'Anna Berger');
      const payee = await ctx.customer('mno-b', 0n, 'Ben Otieno');
      const short = await untilKnown(() => gw.smsAnswer(payer.phone, `SEND ${payee.phone} 60`));
      check(
        short.code === 'INSUFFICIENT_FUNDS' && /you have 50\.00 EUR available/.test(short.text),
        `SEND over the balance answered: ${JSON.stringify(short)}`,
      );
      const ask = await gw.sms(payer.phone, `SEND ${payee.phone} 12.50`);
      check(/^Send 12\.50 EUR to Ben O\.\? Reply with your PIN/.test(ask), `SEND answered: ${ask}`);
      const done = await gw.sms(payer.phone, '1234');
      check(/^Sent 12\.50 EUR to Ben O\. Receipt rct_/.test(done), `PIN answered: ${done}`);
      const again = await gw.smsAnswer(payer.phone, '1234');
      check(again.code === 'CONFIRMATION_NOT_FOUND', `second PIN answered: ${JSON.stringify(again)}`);
      const got = await waitUntil(
        () => payee.wallet.balance(),
        (b) => b === 12_50n,
      );
      check(got === 12_50n, `payee balance ${got}`);
      check((await payer.wallet.balance()) === 37_50n, 'payer balance');
      const mini = await operatorGateway(ctx, 'mno-b').sms(payee.phone, 'MINI');
      check(/\+12\.50 From Bank A$/.test(mini), `payee MINI: ${mini}`);
      return `SEND ${payee.phone} 12.50 → "Send 12.50 EUR to Ben O.?"; PIN → sent bank-a → mno-b; payee MINI "+12.50 From Bank A"`;
    },
  },
  {
    name: 'USSD send money: 1 Send money → phone → amount → PIN, mno-b → bank-a',
    async run(ctx) {
      const gw = operatorGateway(ctx, 'mno-b');
      const payer = await ctx.customer('mno-b', 30_00n, 'Max Gruber');
      const payee = await ctx.customer('bank-a', 0n, 'Eva Schmid');
      const session = `scenario-send-${Date.now()}`;
      const found = await untilKnown(() => gw.ussdAnswer(session, payer.phone, `1*${payee.phone}`));
      check(found.text === 'CON Send to Eva S.\nEnter amount (EUR):\n0 Back', `phone screen: ${found.text}`);
      const confirm = await gw.ussd(session, payer.phone, `1*${payee.phone}*7.25`);
      check(confirm.startsWith('CON Send 7.25 EUR to Eva S.?'), `confirm screen: ${confirm}`);
      const done = await gw.ussd(session, payer.phone, `1*${payee.phone}*7.25*1234`);
      check(/^END Sent 7\.25 EUR to Eva S\. Receipt rct_/.test(done), `final screen: ${done}`);
      const retry = await gw.ussd(session, payer.phone, `1*${payee.phone}*7.25*1234`);
      check(retry === done, `gateway retry answered: ${retry}`);
      const got = await waitUntil(
        () => payee.wallet.balance(),
        (b) => b === 7_25n,
      );
      check(got === 7_25n, `payee balance ${got}`);
      check((await payer.wallet.balance()) === 22_75n, 'payer balance');
      return `*384# → 1 → ${payee.phone} → 7.25 → PIN: sent mno-b → bank-a to "Eva S."; retry moved nothing`;
    },
  },
];
