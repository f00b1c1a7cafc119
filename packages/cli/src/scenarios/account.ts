/**
 * Scenarios for prepaid e-money accounts (KYC tiers, limits, vouchers) and account care (statement, PIN
 * change, own limits, lost phone), through the public HTTP APIs only.
 */
import { randomInt } from 'node:crypto';
import { Wallet } from '../clients-wallet.js';
import { codeOf } from '../http.js';
import { check, eur, type Ctx, type Scenario } from '../testkit/index.js';
import {
  blockDevices,
  changePin,
  createCustomerOfKind,
  createVouchers,
  errorOf,
  limits,
  reissueActivation,
  setOwnLimits,
  statement,
  statementCsv,
  topUp,
  type Tier,
} from '../clients-account.js';

/** A new customer of `kind` at `processorId` with `balance` deposited and an enrolled device (PIN 1234). */
export async function accountCustomer(
  ctx: Ctx,
  processorId: string,
  balance: bigint,
  opts: { kind?: 'bank' | 'emoney'; tier?: Tier } = {},
) {
  const p = ctx.processor(processorId);
  const phone = `+4367${String(randomInt(0, 1e9)).padStart(9, '0')}`;
  const c = await createCustomerOfKind(p.admin, {
    phone,
    name: 'Account Customer',
    currency: p.spec.currency,
    ...opts,
  });
  if (balance > 0n) await p.admin.deposit(c.customerId, balance);
  const wallet = await Wallet.enrol(p.url, phone, c.activationCode, '1234');
  return { wallet, phone, customerId: c.customerId, admin: p.admin };
}

async function requestFor(ctx: Ctx, processorId: string, amount: bigint) {
  const m = await ctx.merchant(processorId, 'Corner Shop');
  return m.client.createRequest({ currency: 'EUR', amount: eur(amount), reference: 'acct' });
}

export const ACCOUNT_SCENARIOS: Scenario[] = [
  {
    name: 'prepaid: tier limits refuse a payment over the per-transaction and daily limit',
    async run(ctx) {
      // Tier 1: max balance 500.00, per transaction 100.00, daily 200.00, monthly 1,000.00.
      const c = await accountCustomer(ctx, 'mno-b', 300_00n, { kind: 'emoney', tier: 1 });
      const big = await errorOf(c.wallet.pay((await requestFor(ctx, 'mno-b', 150_00n)).qr, '1234'));
      check(big?.code === 'LIMIT_EXCEEDED', `150.00 → ${big?.code}`);
      check((big.details as { limit?: string }).limit === 'perTransaction', 'limit not named');
      for (const amount of [90_00n, 90_00n]) {
        const p = await c.wallet.pay((await requestFor(ctx, 'bank-a', amount)).qr, '1234');
        check(p.status === 'COMPLETED', `90.00 → ${p.status} ${p.error ?? ''}`);
      }
      const daily = await errorOf(c.wallet.pay((await requestFor(ctx, 'mno-b', 30_00n)).qr, '1234'));
      const d = daily?.details as { limit?: string; remaining?: string } | undefined;
      check(daily?.code === 'LIMIT_EXCEEDED' && d?.limit === 'daily', `30.00 → ${daily?.code}`);
      check(d?.remaining === '2000', `remaining ${d?.remaining}`);
      const small = await c.wallet.pay((await requestFor(ctx, 'mno-b', 20_00n)).qr, '1234');
      check(small.status === 'COMPLETED', `20.00 → ${small.status}`);
      const bal = await c.wallet.balance();
      check(bal === 100_00n, `balance ${bal}`);
      const cap = await errorOf(c.admin.deposit(c.customerId, 450_00n));
      check(
        cap?.code === 'LIMIT_EXCEEDED' && (cap.details as { limit?: string }).limit === 'maxBalance',
        `deposit beyond max balance → ${cap?.code}`,
      );
      check((await c.wallet.balance()) === 100_00n, 'balance changed by refused deposit');
      return '150.00 → perTransaction; 90+90 paid, 30.00 → daily (20.00 left), 20.00 paid; deposit 450.00 → maxBalance';
    },
  },
  {
    name: 'prepaid: voucher top-up once, second use refused',
    async run(ctx) {
      const c = await accountCustomer(ctx, 'mno-b', 0n, { kind: 'emoney', tier: 1 });
      const other = await accountCustomer(ctx, 'mno-b', 0n, { kind: 'emoney', tier: 1 });
      const { codes } = await createVouchers(ctx.processor('mno-b').admin, 25_00n, 2);
      check(codes.length === 2 && codes[0] !== codes[1], 'two distinct codes');
      const code = codes[0]!;
      const t = await topUp(c.wallet, code);
      check(t.balance.value === '2500', `balance after top-up ${t.balance.value}`);
      const again = await codeOf(topUp(c.wallet, code));
      const stolen = await codeOf(topUp(other.wallet, code));
      const bogus = await codeOf(topUp(c.wallet, '0000000000000000'));
      check(again === 'VOUCHER_USED' && stolen === 'VOUCHER_USED', `reuse → ${again}, ${stolen}`);
      check(bogus === 'VOUCHER_INVALID', `bogus → ${bogus}`);
      check((await c.wallet.balance()) === 25_00n && (await other.wallet.balance()) === 0n, 'balances');
      const n = await c.wallet.notifications();
      check(
        n.some((x) => x.text.includes('Top-up')),
        'no top-up notification',
      );
      return `top-up 25.00 once; again → ${again}; other customer → ${stolen}; unknown → ${bogus}`;
    },
  },
  {
    name: 'account care: statement filters and CSV export',
    async run(ctx) {
      const c = await accountCustomer(ctx, 'bank-a', 50_00n);
      const p = await c.wallet.pay((await requestFor(ctx, 'mno-b', 12_34n)).qr, '1234');
      check(p.status === 'COMPLETED', `payment ${p.status}`);
      await ctx.settled();
      const all = await statement(c.wallet);
      check(all.entries.length === 2, `${all.entries.length} entries`);
      const pays = await statement(c.wallet, { type: 'payment' });
      check(
        pays.entries.length === 1 &&
          pays.entries[0]!.amount.value === '-1234' &&
          pays.entries[0]!.counterparty === 'Corner Shop',
        `payments ${JSON.stringify(pays.entries)}`,
      );
      const deps = await statement(c.wallet, { type: 'deposit' });
      check(deps.entries.length === 1 && deps.entries[0]!.amount.value === '5000', 'deposits');
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const future = await statement(c.wallet, { from: tomorrow });
      check(future.entries.length === 0, 'from tomorrow should be empty');
      const { contentType, csv } = await statementCsv(c.wallet);
      const lines = csv.trim().split(/\r?\n/);
      check(contentType.startsWith('text/csv'), `content type ${contentType}`);
      check(
        lines[0] === 'date,id,type,direction,amount,currency,state,reference,counterparty',
        `header ${lines[0]}`,
      );
      check(lines.length === 3 && lines.some((l) => l.includes(',-12.34,EUR,')), 'CSV rows');
      const bad = await codeOf(statement(c.wallet, { type: 'bogus' as 'p2p' }));
      check(bad === 'VALIDATION_FAILED', `bad type → ${bad}`);
      return `2 entries; type filters 1+1; from tomorrow 0; CSV ${lines.length - 1} rows with -12.34`;
    },
  },
  {
    name: 'account care: change PIN needs the old PIN',
    async run(ctx) {
      const c = await accountCustomer(ctx, 'bank-a', 20_00n);
      const wrong = await codeOf(changePin(c.wallet, '9999', '4321'));
      check(wrong === 'PIN_INVALID', `wrong old PIN → ${wrong}`);
      await changePin(c.wallet, '1234', '4321');
      const old = await codeOf(c.wallet.pay((await requestFor(ctx, 'bank-a', 1_00n)).qr, '1234'));
      check(old === 'PIN_INVALID', `old PIN after change → ${old}`);
      const p = await c.wallet.pay((await requestFor(ctx, 'bank-a', 1_00n)).qr, '4321');
      check(p.status === 'COMPLETED', `new PIN → ${p.status}`);
      check((await c.wallet.balance()) === 19_00n, 'balance');
      return `wrong old PIN → ${wrong}; changed; old PIN → ${old}; new PIN pays`;
    },
  },
  {
    name: 'account care: own limit below the tier is enforced',
    async run(ctx) {
      const c = await accountCustomer(ctx, 'mno-b', 100_00n, { kind: 'emoney', tier: 1 });
      const above = await codeOf(setOwnLimits(c.wallet, { perTransaction: '20000' }));
      check(above === 'LIMIT_ABOVE_TIER', `above tier → ${above}`);
      const l = await setOwnLimits(c.wallet, { perTransaction: '1000', daily: '1500' });
      check(l.effective.perTransaction === '1000' && l.effective.daily === '1500', 'effective limits');
      const over = await errorOf(c.wallet.pay((await requestFor(ctx, 'bank-a', 15_00n)).qr, '1234'));
      check(over?.code === 'LIMIT_EXCEEDED', `15.00 → ${over?.code}`);
      const ok = await c.wallet.pay((await requestFor(ctx, 'bank-a', 8_00n)).qr, '1234');
      check(ok.status === 'COMPLETED', `8.00 → ${ok.status}`);
      const day = await errorOf(c.wallet.pay((await requestFor(ctx, 'bank-a', 8_00n)).qr, '1234'));
      check(day?.code === 'LIMIT_EXCEEDED', `second 8.00 → ${day?.code}`);
      await setOwnLimits(c.wallet, { daily: null });
      check((await limits(c.wallet)).effective.daily === '20000', 'cleared daily falls back to tier');
      check((await c.wallet.balance()) === 92_00n, 'balance');
      return `own limit 200.00 → ${above}; own 10.00/15.00: 15.00 refused, 8.00 paid, 8.00 more refused`;
    },
  },
  {
    name: 'account care: lost phone blocks the device and its pending approval',
    async run(ctx) {
      const c = await accountCustomer(ctx, 'bank-a', 30_00n);
      const req = await requestFor(ctx, 'mno-b', 5_00n);
      const r = await c.wallet.resolve(req.qr);
      const approval = await c.wallet.approval(r, '1234');
      const { blocked } = await blockDevices(c.admin, c.customerId);
      check(blocked.length === 1 && blocked[0] === c.wallet.deviceId, 'device not blocked');
      const submitted = await codeOf(c.wallet.submit(approval));
      check(submitted === 'DEVICE_BLOCKED', `pending approval → ${submitted}`);
      const me = await codeOf(c.wallet.me());
      check(me === 'DEVICE_BLOCKED', `old token → ${me}`);
      const { activationCode } = await reissueActivation(c.admin, c.customerId);
      const fresh = await Wallet.enrol(c.wallet.url, c.phone, activationCode, '1234');
      check((await fresh.balance()) === 30_00n, 'nothing moved');
      const p = await fresh.pay(req.qr, '1234');
      check(p.status === 'COMPLETED', `new device → ${p.status}`);
      return `approval from the lost phone → ${submitted}; new device enrolled and paid 5.00`;
    },
  },
];
