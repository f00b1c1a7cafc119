/**
 * Paying without a smartphone: by SMS (PAY <code>, then the PIN) and by USSD menus, through the operator's
 * gateway webhooks.
 */
import {
  check,
  checkMerchantReceived,
  checkRequestPaid,
  eur,
  operatorGateway,
  sale,
  type Scenario,
} from '../testkit/index.js';

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
];
