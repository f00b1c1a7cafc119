/**
 * Cross-border scenarios (issue 5): payments across currencies with the FX quote shown before the PIN, quote
 * expiry and re-quote, the hub's fee schedule (MSC and interchange), the refund of a converted payment, the
 * close of a settlement window with its multilateral net report, and reconciliation — through the public and
 * operator HTTP APIs only. They run last: the window they close holds every scenario's transfers.
 */
import { SemopsError, formatMoney, type MoneyWire } from '@semops/protocol';
import type { FxQuoteView } from '../clients-wallet.js';
import { codeOf } from '../http.js';
import { check, sleep, type Ctx, type Scenario } from '../testkit/index.js';
import { reconcileWindow } from '../reconcile.js';
import { SettlementAdmin, FxAdmin } from '../clients-settlement.js';

const money = (value: bigint, currency: string): MoneyWire => ({ value: value.toString(), currency });
const show = (m: MoneyWire) => formatMoney({ value: BigInt(m.value), currency: m.currency });

/** Balances of a processor's house accounts by kind and currency (credits − debits). */
async function books(ctx: Ctx, processorId: string): Promise<(kind: string, currency: string) => bigint> {
  const l = await ctx.processor(processorId).admin.ledger();
  return (kind, currency) =>
    BigInt(l.byKind.find((k) => k.kind === kind && k.currency === currency)?.balance ?? '0');
}

const hubOps = (ctx: Ctx) => new SettlementAdmin(ctx.net.hub.url, ctx.net.hub.adminToken);
const fxOps = (ctx: Ctx, id: string) => {
  const p = ctx.processor(id);
  return new FxAdmin(p.url, p.adminToken);
};

/** A customer at `payer` pays a merchant at `payee` `amount` (merchant currency) at the quote shown. */
async function crossPurchase(ctx: Ctx, payer: string, payee: string, amount: MoneyWire, balance: bigint) {
  const c = await ctx.customer(payer, balance, 'Cross Border');
  const m = await ctx.merchant(payee, 'Abroad Shop');
  const req = await m.client.createRequest({ currency: amount.currency, amount, reference: 'abroad-1' });
  const before = await c.wallet.balance();
  const r = await c.wallet.resolve(req.qr);
  check(r.quote, `no FX quote shown for a ${amount.currency} request to a ${payer} customer`);
  const q = r.quote;
  check(q.amount.value === amount.value && q.amount.currency === amount.currency, 'quote amount');
  check(q.expiresAt > Date.now(), 'the quote is already expired when shown');
  let p = await c.wallet.submit(await c.wallet.approval(r, '1234'));
  if (p.status === 'PENDING') p = await c.wallet.waitFinal(p.paymentId);
  check(p.status === 'COMPLETED', `payment ${p.status} ${p.error ?? ''}`);
  check(
    p.charged?.value === q.total.value && p.charged.currency === q.total.currency,
    `charged ${JSON.stringify(p.charged)} ≠ quoted total ${show(q.total)}`,
  );
  const after = await c.wallet.balance();
  check(
    before - after === BigInt(q.total.value),
    `customer debited ${before - after}, quoted ${q.total.value}`,
  );
  await ctx.settled();
  const payments = await m.client.payments();
  const got = payments.find((x) => x.status === 'COMPLETED');
  check(got && got.amount.value === amount.value, `merchant received ${JSON.stringify(got?.amount)}`);
  return { quote: q, paymentId: p.paymentId, before, after, merchantPaymentId: got.paymentId, c, m };
}

export const CROSS_BORDER_SCENARIOS: Scenario[] = [
  {
    name: 'cross-border: a bank-c customer (HUF) pays an mno-b merchant 10.00 EUR at the quote shown',
    async run(ctx) {
      const fxBefore = await books(ctx, 'bank-c');
      const { quote } = await crossPurchase(ctx, 'bank-c', 'mno-b', money(10_00n, 'EUR'), 100_000_00n);
      // The worked example of docs/settlement.md: 392.45 × 1.005 → 3944.13 HUF + 100.00 HUF fee.
      check(quote.rate === '1 EUR = 394.412250 HUF', `rate shown ${quote.rate}`);
      check(
        quote.converted.value === '394413' && quote.fee.value === '10000',
        `quote ${JSON.stringify(quote)}`,
      );
      check(quote.total.value === '404413' && quote.total.currency === 'HUF', `total ${show(quote.total)}`);
      const fxAfter = await books(ctx, 'bank-c');
      const d = (kind: string, cur: string) => fxAfter(kind, cur) - fxBefore(kind, cur);
      check(d('fx', 'HUF') === 392450n, `fx:HUF moved ${d('fx', 'HUF')}`);
      check(d('fxmargin', 'HUF') === 1963n, `fxmargin:HUF moved ${d('fxmargin', 'HUF')}`);
      check(d('fees', 'HUF') === 10000n, `fees:HUF moved ${d('fees', 'HUF')}`);
      check(d('fx', 'EUR') === -1000n, `fx:EUR moved ${d('fx', 'EUR')}`);
      return `paid ${show(quote.total)} (${quote.rate}, fee ${show(quote.fee)}) for 10.00 EUR`;
    },
  },
  {
    name: 'cross-border: an mno-b customer (EUR) pays a bank-c merchant 5000.00 HUF',
    async run(ctx) {
      const { quote } = await crossPurchase(ctx, 'mno-b', 'bank-c', money(5_000_00n, 'HUF'), 100_00n);
      // 5000.00 HUF at 1/392.45 × 1.004 = 12.7914… EUR → 12.80 EUR, no fee at mno-b.
      check(quote.total.value === '1280' && quote.total.currency === 'EUR', `total ${show(quote.total)}`);
      check(quote.fee.value === '0', `fee ${show(quote.fee)}`);
      return `paid ${show(quote.total)} (${quote.rate}) for 5000.00 HUF`;
    },
  },
  {
    name: 'cross-border: an expired quote is refused and re-quoted at the new rate, never applied',
    async run(ctx) {
      const fx = fxOps(ctx, 'bank-c');
      const c = await ctx.customer('bank-c', 100_000_00n, 'Slow Payer');
      const m = await ctx.merchant('mno-b', 'Quote Shop');
      const req = await m.client.createRequest({
        currency: 'EUR',
        amount: money(20_00n, 'EUR'),
        reference: 'q',
      });
      await fx.setConfig({ quoteTtlMs: 1000 });
      let shown: FxQuoteView;
      let expired: unknown;
      try {
        const r = await c.wallet.resolve(req.qr);
        check(r.quote, 'no quote at resolve');
        shown = r.quote;
        await sleep(1200);
        // Meanwhile the reference rate moves.
        await fx.setRates([{ base: 'EUR', quote: 'HUF', rate: '400.00' }]);
        const before = await c.wallet.balance();
        expired = await c.wallet.submit(await c.wallet.approval(r, '1234')).catch((e: unknown) => e);
        check(
          expired instanceof SemopsError && expired.code === 'QUOTE_EXPIRED',
          `approval on an expired quote → ${expired instanceof SemopsError ? expired.code : 'accepted'}`,
        );
        check((await c.wallet.balance()) === before, 'an expired quote moved money');
        const fresh = (expired.details as { quote?: FxQuoteView } | undefined)?.quote;
        check(fresh && fresh.quoteId !== shown.quoteId, 'no fresh quote with the error');
        check(fresh.rate === '1 EUR = 402.000000 HUF', `re-quoted at ${fresh.rate}`);
        check(
          BigInt(fresh.total.value) > BigInt(shown.total.value),
          'the new total does not follow the new rate',
        );
        await fx.setConfig({ quoteTtlMs: 30_000 });
        // The customer sees the new total and approves again.
        const again = await c.wallet.quote(r.requestId, money(20_00n, 'EUR'));
        let p = await c.wallet.submit(await c.wallet.approval(r, '1234', { quoteId: again.quoteId }));
        if (p.status === 'PENDING') p = await c.wallet.waitFinal(p.paymentId);
        check(p.status === 'COMPLETED', `payment after re-quote ${p.status} ${p.error ?? ''}`);
        check(p.charged?.value === again.total.value, `charged ${p.charged?.value} ≠ ${again.total.value}`);
        // A used quote pays once.
        const reuse = await codeOf(
          c.wallet.submit(await c.wallet.approval(r, '1234', { quoteId: again.quoteId })),
        );
        check(reuse !== 'OK', 'a used quote paid twice');
        return `expired ${show(shown.total)} → re-quoted ${show(again.total)} and paid`;
      } finally {
        await fx.setConfig({ quoteTtlMs: 30_000 });
        await fx.reload(); // back to the reference rates file
      }
    },
  },
  {
    name: 'cross-border: fees split as configured — MSC kept by the payee, interchange to the payer',
    async run(ctx) {
      const hub = hubOps(ctx);
      const previous = await hub.fees();
      await hub.setFees([
        ...previous.filter((e) => !(e.payee === 'mno-b' && e.currency === 'EUR')),
        { payee: 'mno-b', currency: 'EUR', mscBps: 100, mscFixed: '0', interchangeBps: 2000 },
      ]);
      try {
        const b0 = await books(ctx, 'mno-b');
        const c0 = await books(ctx, 'bank-c');
        const { merchantPaymentId } = await crossPurchase(
          ctx,
          'bank-c',
          'mno-b',
          money(10_00n, 'EUR'),
          100_000_00n,
        );
        const b1 = await books(ctx, 'mno-b');
        const c1 = await books(ctx, 'bank-c');
        const msc = b1('fees', 'EUR') - b0('fees', 'EUR');
        const paid = b1('interchange', 'EUR') - b0('interchange', 'EUR');
        const got = c1('interchange', 'EUR') - c0('interchange', 'EUR');
        check(msc === 10n, `mno-b MSC income ${msc}, want 10 (1.00 % of 10.00 EUR)`);
        check(paid === -2n, `mno-b interchange ${paid}, want -2 (20 % of the MSC paid out)`);
        check(got === 2n, `bank-c interchange ${got}, want 2`);
        void merchantPaymentId;
        return 'MSC 0.10 EUR at mno-b, of which 0.02 EUR interchange to bank-c';
      } finally {
        await hub.setFees(previous);
      }
    },
  },
  {
    name: 'cross-border: a refund of a converted payment comes back at the original customer rate',
    async run(ctx) {
      const { quote, before, after, merchantPaymentId, c, m } = await crossPurchase(
        ctx,
        'bank-c',
        'mno-b',
        money(10_00n, 'EUR'),
        100_000_00n,
      );
      // The merchant refunds in two parts; the customer's processor converts each at the quote's 394.41225,
      // rounded down on the running total: 4.00 EUR → 1577.64 HUF, then 10.00 EUR in all → 3944.12 HUF in all.
      const first = await m.client.refund(merchantPaymentId, money(4_00n, 'EUR'));
      check(first.status !== 'FAILED', `first refund ${first.status} ${first.error ?? ''}`);
      await ctx.settled();
      const mid = await c.wallet.balance();
      check(mid - after === 157764n, `first refund credited ${mid - after}, want 157764 (1577.64 HUF)`);
      const second = await m.client.refund(merchantPaymentId, money(6_00n, 'EUR'));
      check(second.status !== 'FAILED', `second refund ${second.status} ${second.error ?? ''}`);
      await ctx.settled();
      const end = await c.wallet.balance();
      check(end - mid === 236648n, `second refund credited ${end - mid}, want 236648 (2366.48 HUF)`);
      // The customer is out of pocket by the fee (100.00 HUF) and the rounding of the charge (0.01 HUF).
      check(before - end === 10001n, `customer lost ${before - end}, want 10001`);
      const tooMuch = await codeOf(m.client.refund(merchantPaymentId, money(1n, 'EUR')));
      check(tooMuch === 'REFUND_EXCEEDS_PAYMENT', `refund beyond the payment → ${tooMuch}`);
      return `paid ${show(quote.total)}, refunded 3944.12 HUF at the quoted rate; fee kept`;
    },
  },
  {
    name: 'settlement: closing the window gives a report that sums to zero per currency; every processor books it',
    async run(ctx) {
      const hub = hubOps(ctx);
      // The window holds every earlier scenario's transfers; these two make sure both currencies move.
      await crossPurchase(ctx, 'bank-c', 'mno-b', money(10_00n, 'EUR'), 100_000_00n);
      await crossPurchase(ctx, 'mno-b', 'bank-c', money(5_000_00n, 'HUF'), 100_00n);
      await ctx.settled();
      const before = await ctx.net.hub.admin.positions();
      const report = await hub.closeWindow();
      const byCurrency = new Map<string, bigint>();
      for (const row of report.positions) {
        byCurrency.set(row.currency, (byCurrency.get(row.currency) ?? 0n) + BigInt(row.net));
      }
      for (const [cur, sum] of byCurrency) check(sum === 0n, `${cur} nets sum to ${sum}`);
      check(
        byCurrency.has('EUR') && byCurrency.has('HUF'),
        `currencies in the report: ${[...byCurrency.keys()].join(', ')}`,
      );
      // Every processor books its net position of the window against its settlement account.
      for (const p of ctx.net.processors.values()) {
        const mine = report.positions.filter((x) => x.processorId === p.id);
        if (mine.length === 0) continue;
        const end = Date.now() + 10_000;
        let booked;
        for (;;) {
          booked = (await new FxAdmin(p.url, p.adminToken).settlements()).find(
            (w) => w.windowId === report.windowId,
          );
          if (booked || Date.now() > end) break;
          await sleep(200);
        }
        check(booked, `${p.id} did not book window ${report.windowId}`);
        for (const x of mine) {
          const b = booked.positions.find((y) => y.currency === x.currency);
          check(b?.net === x.net, `${p.id} booked ${b?.net} ${x.currency}, hub says ${x.net}`);
        }
      }
      // After settlement every hub position is back to zero (conservation checks the ledgers match).
      await ctx.settled();
      // Settling turns positions into liquidity: no sending capacity is freed without real money.
      for (const pos of await ctx.net.hub.admin.positions()) {
        check(
          pos.position === '0',
          `${pos.processorId} ${pos.currency} position ${pos.position} after settlement`,
        );
        const was = before.find((b) => b.processorId === pos.processorId && b.currency === pos.currency);
        const net = report.positions.find(
          (x) => x.processorId === pos.processorId && x.currency === pos.currency,
        )?.net;
        check(
          was?.available === pos.available,
          `${pos.processorId} ${pos.currency}: available changed at close`,
        );
        check(
          BigInt(pos.liquidity) === BigInt(was?.liquidity ?? '0') + BigInt(net ?? '0'),
          `${pos.processorId} ${pos.currency}: liquidity ${pos.liquidity}, was ${was?.liquidity}, net ${net}`,
        );
      }
      const csv = await hub.reportCsv(report.windowId);
      check(csv.split('\n')[0]?.includes('net'), 'CSV report has no header');
      return `window ${report.windowId}: ${report.positions.length} positions, ${report.instructions.length} net movements`;
    },
  },
  {
    name: 'settlement: reconciliation of the closed window with every ledger finds zero differences',
    async run(ctx) {
      const result = await reconcileWindow({
        hub: { url: ctx.net.hub.url, adminToken: ctx.net.hub.adminToken },
        processors: [...ctx.net.processors.values()].map((p) => ({
          id: p.id,
          url: p.url,
          adminToken: p.adminToken,
        })),
      });
      check(
        result.differences.length === 0,
        `differences: ${JSON.stringify(result.differences.slice(0, 5))}`,
      );
      check(result.checked.transfers > 0, 'nothing was checked');
      return `window ${result.windowId}: ${result.checked.transfers} transfers on ${result.checked.processors} processors, 0 differences`;
    },
  },
];
