/**
 * Scenarios for bill payment by biller code (paybill) and airtime top-up at a mobile operator, through the
 * public HTTP APIs only.
 */
import { randomInt } from 'node:crypto';
import { codeOf } from '../http.js';
import { check, eur, type Scenario } from '../testkit/index.js';
import {
  airtimeTopups,
  billerPayments,
  buyAirtime,
  payBill,
  registerBiller,
  resolveBill,
} from '../clients-bills.js';

/** Retries `fn` until it succeeds (the hub directory learns a new phone number within a sync interval). */
async function retry<T>(fn: () => Promise<T>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export const BILL_SCENARIOS: Scenario[] = [
  {
    name: 'bills: bill payment by biller code and account reference',
    async run(ctx) {
      const water = await ctx.merchant('mno-b', 'City Water');
      const billerCode = `202${randomInt(10_000, 100_000)}`;
      await registerBiller(ctx.processor('mno-b').admin, {
        merchantId: water.merchantId,
        billerCode,
        accountPattern: '\\d{8}',
        maxAmount: '100000',
      });
      const payer = await ctx.customer('bank-a', 100_00n);
      const bad = await codeOf(resolveBill(payer.wallet, { billerCode, account: 'ABC-1' }));
      check(bad === 'ACCOUNT_REFERENCE_INVALID', `bad account → ${bad}`);
      const { resolved, payment } = await payBill(
        payer.wallet,
        { billerCode, account: '12345678', amount: eur(42_50n) },
        '1234',
      );
      check(resolved.merchant.name === 'City Water', `shown ${resolved.merchant.name}`);
      check(resolved.reference === '12345678' && resolved.processorId === 'mno-b', 'resolve shape');
      check(payment.status === 'COMPLETED', `payment ${payment.status} ${payment.error ?? ''}`);
      await ctx.settled();
      const { payments } = await billerPayments(ctx.processor('mno-b').url, water.apiKey);
      check(
        payments.length === 1 && payments[0]!.account === '12345678' && payments[0]!.amount.value === '4250',
        `biller payments ${JSON.stringify(payments)}`,
      );
      check((await payer.wallet.balance()) === 57_50n, 'payer balance');
      const unknown = await codeOf(
        resolveBill(payer.wallet, { billerCode: '10199999', account: '12345678' }),
      );
      check(unknown === 'BILLER_NOT_FOUND', `unknown biller → ${unknown}`);
      return `bank-a customer paid 42.50 to biller ${billerCode} (mno-b) for account 12345678; bad account → ${bad}; unknown code → ${unknown}`;
    },
  },
  {
    name: 'bills: airtime top-up for a phone at a mobile operator',
    async run(ctx) {
      const owner = await ctx.customer('mno-b', 0n, 'Airtime Owner');
      const payer = await ctx.customer('bank-a', 50_00n);
      const { resolved, payment } = await retry(() =>
        buyAirtime(payer.wallet, owner.phone, eur(10_00n), '1234'),
      );
      check(
        resolved.display.startsWith('Airtime for +4') && resolved.display.endsWith('(mno-b)'),
        resolved.display,
      );
      check(!JSON.stringify(resolved).includes('Airtime Owner'), 'the payee name leaked');
      check(payment.status === 'COMPLETED', `payment ${payment.status} ${payment.error ?? ''}`);
      await ctx.settled();
      const mine = await retry(async () => {
        const { topups } = await airtimeTopups(ctx.processor('mno-b').admin);
        const t = topups.find((x) => x.paymentId === payment.paymentId);
        if (!t) throw new Error('no airtime top-up recorded');
        return t;
      });
      check(mine.phone === owner.phone && mine.amount.value === '1000', 'top-up record');
      const n = await retry(async () => {
        const list = await owner.wallet.notifications();
        const hit = list.find((x) => x.text.includes('Airtime'));
        if (!hit) throw new Error('no airtime notification');
        return hit;
      });
      check((await payer.wallet.balance()) === 40_00n, 'payer balance');
      const tooMuch = await codeOf(buyAirtime(payer.wallet, owner.phone, eur(500_00n), '1234'));
      check(tooMuch === 'AMOUNT_OUT_OF_RANGE', `500.00 → ${tooMuch}`);
      return `${resolved.display}: 10.00 paid from bank-a, recorded at mno-b, owner told "${n.text}"; 500.00 → ${tooMuch}`;
    },
  },
];
