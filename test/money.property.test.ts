/**
 * Property: across the whole network, conversion, fees, refunds and settlement never create or lose a minor
 * unit — driven through the real nodes, not a model of their bookings.
 *
 * One network in this process (the real hub and four processors holding EUR, HUF, JPY and BHD, each clearing
 * every currency, on SQLite files, signed HTTP between them, one settable clock). Each case sets random mid
 * rates, spreads, conversion fees and a random hub fee schedule through the operators' APIs, then pays a
 * random batch of requests at once (in and across processors and currencies, so the nodes interleave their
 * messages), approves each a second time (a replay), refunds random parts (each refund sent twice with its
 * idempotency key), lets one quote run out on the clock before approving, and closes the settlement window.
 * Checked from what customers, merchants and operators see: every customer paid exactly the quoted total and
 * was refunded no more than paid (a full refund of a conversion returns the converted amount to within one
 * minor unit); every merchant was credited the amount less the fee shown; each payment and refund is final
 * and the same at payer, hub and payee; per currency the network holds exactly what was deposited; the
 * window's nets sum to zero, every processor books its net, reconciliation finds no difference and every
 * hub position is back to zero.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  FxAdmin,
  SettlementAdmin,
  codeOf,
  reconcileWindow,
  type FxQuoteView,
  type ProcessorSpec,
  type RefundView,
} from '@semops/cli';
import {
  Ctx,
  countMoney,
  settableClock,
  startFaultyLink,
  startInProcessNetwork,
  type Fault,
  type FaultyLink,
  type InProcessNetwork,
} from '@semops/cli/testkit';
import type { MoneyWire } from '@semops/protocol';

const CURRENCIES = ['EUR', 'HUF', 'JPY', 'BHD'] as const;
type Currency = (typeof CURRENCIES)[number];
const LIQUIDITY = 10n ** 13n;
const QUOTE_TTL_MS = 30_000;
const SPECS: ProcessorSpec[] = CURRENCIES.map((currency, i) => ({
  id: `pp-${currency.toLowerCase()}`,
  name: `Processor ${currency}`,
  kind: 'bank',
  currency,
  routingPrefix: `${i + 1}0${i + 1}`,
  country: ['AT', 'HU', 'JP', 'BH'][i]!,
  liquidity: LIQUIDITY,
  clears: Object.fromEntries(CURRENCIES.filter((c) => c !== currency).map((c) => [c, LIQUIDITY])),
  fx: { spreadBps: 0, quoteTtlMs: QUOTE_TTL_MS },
}));
/** Every pair of currencies once, as `base` → `quote`. */
const PAIRS = CURRENCIES.flatMap((base, i) => CURRENCIES.slice(i + 1).map((quote) => ({ base, quote })));

const money = (value: bigint, currency: string): MoneyWire => ({ value: value.toString(), currency });

/** A positive decimal with up to six places, as an operator writes a rate: `392.45`, `0.002558`. */
const arbRate = fc
  .tuple(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 0, max: 6 }))
  .map(([n, scale]) => {
    const digits = String(n).padStart(scale + 1, '0');
    return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  });

const arbPayment = fc.record({
  payer: fc.nat({ max: SPECS.length - 1 }),
  payee: fc.nat({ max: SPECS.length - 1 }),
  /** In the merchant's currency, minor units. */
  amount: fc.bigInt({ min: 1n, max: 1_000_000n }),
  /** Refund this share of what is left afterwards, in up to two parts (per mille; 0 = none). */
  refunds: fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 2 }),
});

const arbSettings = {
  rates: fc.array(arbRate, { minLength: PAIRS.length, maxLength: PAIRS.length }),
  fx: fc.array(
    fc.record({ spreadBps: fc.integer({ min: 0, max: 500 }), fee: fc.bigInt({ min: 0n, max: 10_000n }) }),
    { minLength: SPECS.length, maxLength: SPECS.length },
  ),
  fees: fc.record({
    mscBps: fc.integer({ min: 0, max: 10_000 }),
    mscFixed: fc.bigInt({ min: 0n, max: 500n }),
    interchangeBps: fc.integer({ min: 0, max: 10_000 }),
  }),
};
const arbCase = fc.record({
  ...arbSettings,
  payments: fc.array(arbPayment, { minLength: 1, maxLength: 4 }),
  /** A payment whose quote runs out before the customer approves (when it converts). */
  late: arbPayment,
});
/** The same under a faulty network: what happens to each node message in turn (cycling). */
const arbFaultCase = fc.record({
  ...arbSettings,
  payments: fc.array(arbPayment, { minLength: 1, maxLength: 4 }),
  faults: fc.array(fc.constantFrom<Fault>('pass', 'duplicate', 'delay', 'lose', 'lose-answer'), {
    minLength: 1,
    maxLength: 16,
  }),
});
type Case = typeof arbCase extends fc.Arbitrary<infer C> ? C : never;
type Settings = Pick<Case, 'rates' | 'fx' | 'fees'>;
type Payment = Case['payments'][number];
/** How long a transfer may wait for its payee before the hub aborts it (the processors' default). */
const TRANSFER_TTL_MS = 30_000;

describe('money across the network, through the real nodes (property)', () => {
  let dir: string;
  let net: InProcessNetwork;
  let ctx: Ctx<InProcessNetwork>;
  const clock = settableClock();
  const hub = () => new SettlementAdmin(net.hub.url, net.hub.adminToken);
  const fxOf = (id: string) => new FxAdmin(ctx.processor(id).url, ctx.processor(id).adminToken);

  /** What happens to the next node message on any link; every message passes unless a case says otherwise. */
  let nextFault: () => Fault = () => 'pass';
  const links: FaultyLink[] = [];

  beforeAll(async () => {
    // Five nodes share this process's event loop, so one node's lag is everyone's: admission by event-loop
    // lag (503 OVERLOADED at resolve and approval) would refuse payments for the test's own load. The limit
    // on payments in flight still applies.
    process.env.SEMOPS_MAX_LAG_MS = '60000';
    dir = mkdtempSync(join(tmpdir(), 'semops-money-'));
    net = await startInProcessNetwork({
      dir,
      processors: SPECS,
      now: clock.now,
      rates: PAIRS.map((p) => ({ ...p, rate: '1' })),
      transferTtlMs: TRANSFER_TTL_MS,
      // Every node is reached through a link that may lose, repeat or hold back its messages.
      via: async (_id, url) => {
        const link = await startFaultyLink(url, () => nextFault());
        links.push(link);
        return link.url;
      },
    });
    ctx = new Ctx(net);
  }, 60_000);
  afterAll(async () => {
    await net?.close();
    for (const l of links) await l.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Nothing reserved or pending anywhere, books balanced and matching the hub, money counted exactly. */
  const quiet = () =>
    expect.poll(() => ctx.conservation(), { timeout: 20_000, interval: 50 }).toBeUndefined();

  /** What one payment did, as its customer and merchant see it. */
  interface Paid {
    readonly p: Payment;
    readonly payer: string;
    readonly payee: string;
    readonly currency: Currency;
    readonly customer: Awaited<ReturnType<typeof ctx.customer>>;
    readonly merchant: Awaited<ReturnType<typeof ctx.merchant>>;
    readonly requestId: string;
    readonly quote: FxQuoteView | undefined;
    readonly total: bigint;
    /** How the payment ended at the payer (FAILED: nothing was taken). */
    readonly status: 'COMPLETED' | 'FAILED';
    /** Undefined when the payer refused it before making a payment. */
    readonly paymentId: string | undefined;
    /** What the merchant was credited: the amount less its fee (0 when nothing was paid). */
    readonly net: bigint;
    readonly refunds: RefundView[];
  }

  /** Resolves a new request of a merchant at `payee`, deposits exactly what the customer must pay. */
  async function prepare(p: Payment) {
    const payer = SPECS[p.payer]!.id;
    const payee = SPECS[p.payee]!.id;
    const currency = SPECS[p.payee]!.currency as Currency;
    const customer = await ctx.customer(payer, 0n, 'Property Payer');
    const merchant = await ctx.merchant(payee, 'Property Shop');
    const req = await merchant.client.createRequest({
      currency,
      amount: money(p.amount, currency),
      reference: 'property',
    });
    const r = await customer.wallet.resolve(req.qr);
    expect(Boolean(r.quote), 'a quote exactly when the currencies differ').toBe(
      SPECS[p.payer]!.currency !== currency,
    );
    const total = r.quote ? BigInt(r.quote.total.value) : p.amount;
    if (r.quote) {
      expect(r.quote.amount).toEqual(money(p.amount, currency));
      expect(BigInt(r.quote.converted.value) + BigInt(r.quote.fee.value)).toBe(total);
    }
    await ctx.processor(payer).admin.deposit(customer.customerId, total);
    return { payer, payee, currency, customer, merchant, req, r, total };
  }

  /** Approves at the quote shown; the same approval again is a replay that moves nothing. */
  async function approve(prep: Awaited<ReturnType<typeof prepare>>, p: Payment): Promise<Paid> {
    const { customer, merchant, r, total } = prep;
    const approval = await customer.wallet.approval(r, '1234', { expiresAt: clock.now() + 60_000 });
    let paid = await customer.wallet.submit(approval);
    if (paid.status === 'PENDING') paid = await customer.wallet.waitFinal(paid.paymentId);
    expect(paid.status, paid.error).toBe('COMPLETED');
    if (r.quote) expect(paid.charged).toEqual(r.quote.total);
    expect(await customer.wallet.balance(), 'the customer paid exactly the total shown').toBe(0n);
    expect(await codeOf(customer.wallet.submit(approval))).toBe('APPROVAL_REPLAYED');
    expect(await customer.wallet.balance()).toBe(0n);
    // The merchant sees the payment completed, and is credited its amount less the fee it is shown.
    const seen = await vi.waitFor(async () => {
      const got = (await merchant.client.request(prep.req.id)).payments;
      expect(got.map((x) => x.status)).toEqual(['COMPLETED']);
      return got[0]!;
    });
    expect(seen.amount).toEqual(money(p.amount, prep.currency));
    const fee = BigInt(seen.fee?.value ?? '0');
    expect(fee).toBeGreaterThanOrEqual(0n);
    expect(fee).toBeLessThanOrEqual(p.amount);
    expect(BigInt(seen.net?.value ?? seen.amount.value)).toBe(p.amount - fee);
    return {
      p,
      payer: prep.payer,
      payee: prep.payee,
      currency: prep.currency,
      customer,
      merchant,
      requestId: prep.req.id,
      quote: r.quote,
      total,
      status: 'COMPLETED',
      paymentId: seen.paymentId,
      net: p.amount - fee,
      refunds: [],
    };
  }

  /** Refunds the shares asked for; each refund sent twice with one idempotency key is one refund. */
  async function refund(x: Paid, seq: number): Promise<void> {
    const paymentId = x.paymentId!;
    let refunded = 0n;
    for (const [i, share] of x.p.refunds.entries()) {
      const amount = ((x.p.amount - refunded) * BigInt(share)) / 1000n;
      if (amount === 0n) continue;
      const key = `prop-${seq}-${paymentId}-${i}`;
      const send = () =>
        x.merchant.client.refund(paymentId, money(amount, x.currency), { idempotencyKey: key }).then(
          (r) => r,
          (e: unknown) => e,
        );
      const first = await send();
      if (amount > x.net - refunded) {
        // The merchant holds less than it would give back (its fee is not refunded to it): refused.
        expect(first, JSON.stringify(first)).toMatchObject({ status: 'FAILED', error: 'INSUFFICIENT_FUNDS' });
        continue;
      }
      expect(first, JSON.stringify(first)).toMatchObject({
        paymentId: paymentId,
        amount: money(amount, x.currency),
      });
      const again = (await send()) as RefundView;
      expect(again.refundId).toBe((first as RefundView).refundId);
      const done = await vi.waitFor(
        async () => {
          const r = (await x.merchant.client.refunds(paymentId)).refunds.find(
            (y) => y.refundId === again.refundId,
          )!;
          expect(r.status).not.toBe('PENDING');
          return r;
        },
        { timeout: 20_000, interval: 50 },
      );
      expect(done.status, done.error).toBe('COMPLETED');
      x.refunds.push(done);
      refunded += amount;
    }
    const listed = (await x.merchant.client.refunds(paymentId)).refunds;
    expect(listed.filter((r) => r.status !== 'FAILED').map((r) => r.refundId)).toEqual(
      expect.arrayContaining(x.refunds.map((r) => r.refundId)),
    );
    expect(listed.filter((r) => r.status !== 'FAILED')).toHaveLength(x.refunds.length);
  }

  /** What the customer holds after the refunds: all of it back in their currency, or converted back. */
  async function checkCustomer(x: Paid): Promise<void> {
    const refunded = x.refunds.reduce((s, r) => s + BigInt(r.amount.value), 0n);
    const balance = await x.customer.wallet.balance();
    const me = await x.customer.wallet.me();
    expect(me.available.value, 'nothing stays reserved').toBe(me.balance.value);
    if (x.status === 'FAILED') {
      expect(balance, 'a failed payment took nothing').toBe(x.total);
      return;
    }
    if (!x.quote) {
      expect(balance).toBe(refunded);
      return;
    }
    // Converted back at the customer's own rate: never more than the converted amount (the fee is kept), and a
    // full refund returns it to within one minor unit.
    const converted = BigInt(x.quote.converted.value);
    expect(balance).toBeGreaterThanOrEqual(0n);
    expect(balance).toBeLessThanOrEqual(converted);
    if (refunded === x.p.amount) expect(converted - balance).toBeLessThanOrEqual(1n);
    if (refunded === 0n) expect(balance).toBe(0n);
  }

  /** The payment and its refunds are final and the same at payer, hub and payee. */
  async function checkEverywhere(x: Paid): Promise<void> {
    const atPayee = (await x.merchant.client.request(x.requestId)).payments;
    const h = hub();
    if (x.status === 'FAILED') {
      expect(
        atPayee.filter((y) => y.status === 'COMPLETED'),
        'the merchant got nothing',
      ).toEqual([]);
      if (x.paymentId === undefined) return;
      expect((await x.customer.wallet.payment(x.paymentId)).status).toBe('FAILED');
      if (x.payer === x.payee) return;
      const atHub = await h.transfer(x.paymentId).then(
        (t) => t.state,
        (e: { code?: string }) => e.code,
      );
      expect(['ABORTED', 'TRANSFER_NOT_FOUND'], 'at the hub').toContain(atHub);
      return;
    }
    expect(atPayee.map((y) => [y.paymentId, y.status])).toEqual([[x.paymentId, 'COMPLETED']]);
    const atPayer = await x.customer.wallet.payment(x.paymentId!);
    expect(atPayer.status).toBe('COMPLETED');
    if (x.payer === x.payee) return; // on us: the hub never saw it
    expect(await h.transfer(x.paymentId!)).toMatchObject({
      transferId: x.paymentId,
      payer: x.payer,
      payee: x.payee,
      amount: money(x.p.amount, x.currency),
      state: 'COMMITTED',
    });
    for (const r of x.refunds) {
      expect(await h.transfer(r.refundId)).toMatchObject({
        payer: x.payee,
        payee: x.payer,
        amount: r.amount,
        refundOf: x.paymentId,
        state: 'COMMITTED',
      });
    }
  }

  /** Closes the open window (when it holds transfers); every processor books its net, nothing differs. */
  async function settle(): Promise<void> {
    const h = hub();
    const open = (await h.windows()).find((w) => w.state === 'OPEN')!;
    if (open.transfers === 0) return;
    const report = await h.closeWindow();
    const sums = new Map<string, bigint>();
    for (const pos of report.positions)
      sums.set(pos.currency, (sums.get(pos.currency) ?? 0n) + BigInt(pos.net));
    for (const [currency, sum] of sums) expect(sum, currency).toBe(0n);
    const left = new Map(
      report.positions.map((pos) => [`${pos.currency} ${pos.processorId}`, BigInt(pos.net)]),
    );
    for (const m of report.instructions) {
      expect(BigInt(m.amount)).toBeGreaterThan(0n);
      left.set(`${m.currency} ${m.from}`, left.get(`${m.currency} ${m.from}`)! + BigInt(m.amount));
      left.set(`${m.currency} ${m.to}`, left.get(`${m.currency} ${m.to}`)! - BigInt(m.amount));
    }
    for (const v of left.values()) expect(v).toBe(0n);
    const owing = new Set(report.positions.filter((pos) => pos.transfers > 0).map((pos) => pos.processorId));
    for (const id of owing) {
      await vi.waitFor(
        async () => expect((await fxOf(id).settlements()).map((s) => s.windowId)).toContain(report.windowId),
        { timeout: 20_000, interval: 50 },
      );
    }
    for (const pos of await net.hub.admin.positions()) {
      expect([pos.position, pos.reserved], `${pos.processorId} ${pos.currency}`).toEqual(['0', '0']);
    }
    const targets = {
      hub: { url: net.hub.url, adminToken: net.hub.adminToken },
      processors: [...net.processors.values()].map((p) => ({
        id: p.id,
        url: p.url,
        adminToken: p.adminToken,
      })),
    };
    expect((await reconcileWindow(targets, report.windowId)).differences).toEqual([]);
  }

  /** Like Promise.all, but waits for every step to end before reporting the first failure (no stray work). */
  async function all<T>(steps: ReadonlyArray<Promise<T>>): Promise<T[]> {
    const settled = await Promise.allSettled(steps);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
  }

  /** The operators' settings for a case: rates, spreads and fees, and the hub's fee schedule. */
  async function applySettings(c: Settings): Promise<void> {
    await Promise.all(
      SPECS.map(async (spec, i) => {
        const fx = fxOf(spec.id);
        await fx.setRates(PAIRS.map((pair, j) => ({ ...pair, rate: c.rates[j]! })));
        await fx.setConfig({
          spreadBps: c.fx[i]!.spreadBps,
          feeFixed: { [spec.currency]: c.fx[i]!.fee.toString() },
          quoteTtlMs: QUOTE_TTL_MS,
        });
      }),
    );
    await hub().setFees(
      CURRENCIES.map((currency) => ({
        payee: '*',
        currency,
        mscBps: c.fees.mscBps,
        mscFixed: c.fees.mscFixed.toString(),
        interchangeBps: c.fees.interchangeBps,
      })),
    );
  }

  /** The merchants' money per processor and currency, and the money deposited per currency. */
  async function books() {
    const ledgers = await Promise.all(
      [...net.processors.values()].map(async (p) => ({
        processorId: p.id,
        byKind: (await p.admin.ledger()).byKind,
      })),
    );
    const merchants = new Map<string, bigint>();
    for (const l of ledgers)
      for (const k of l.byKind)
        if (k.kind === 'merchant') merchants.set(`${l.processorId} ${k.currency}`, BigInt(k.balance));
    return { merchants, deposited: new Map(countMoney(ledgers).map((m) => [m.currency, m.deposited])) };
  }

  /**
   * Since `before`: each payee processor's merchants together were credited exactly the nets of the payments
   * that completed, less what they refunded; the only new money is what the case deposited.
   */
  async function checkBooks(before: Awaited<ReturnType<typeof books>>, paid: readonly Paid[]): Promise<void> {
    const merchants = new Map(before.merchants);
    const deposited = new Map(before.deposited);
    for (const x of paid) {
      const key = `${x.payee} ${x.currency}`;
      const back = x.refunds.reduce((s, r) => s + BigInt(r.amount.value), 0n);
      merchants.set(key, (merchants.get(key) ?? 0n) + x.net - back);
      const cur = SPECS.find((s) => s.id === x.payer)!.currency;
      deposited.set(cur, (deposited.get(cur) ?? 0n) + x.total);
    }
    const after = await books();
    const nonZero = (m: ReadonlyMap<string, bigint>) => new Map([...m].filter(([, v]) => v !== 0n));
    expect(nonZero(after.merchants)).toEqual(nonZero(merchants));
    expect(nonZero(after.deposited)).toEqual(nonZero(deposited));
  }

  /** Every check of a case, once its network is quiet; then its window is settled. */
  async function checkOutcome(
    before: Awaited<ReturnType<typeof books>>,
    paid: readonly Paid[],
  ): Promise<void> {
    for (const x of paid) {
      await checkCustomer(x);
      await checkEverywhere(x);
    }
    await checkBooks(before, paid);
    await settle();
    await quiet();
  }

  let seq = 0;
  async function runCase(c: Case): Promise<void> {
    const n = seq++;
    await applySettings(c);
    const before = await books();

    // All payments at once: the nodes interleave their messages as they come.
    const paid = await all(c.payments.map(async (p) => approve(await prepare(p), p)));

    // One more, whose quote runs out on the clock before the customer approves: refused with a new quote,
    // nothing moved; approved at the new quote, it pays.
    const late = await prepare(c.late);
    if (late.r.quote) {
      clock.advance(QUOTE_TTL_MS);
      const refused = await late.customer.wallet
        .submit(await late.customer.wallet.approval(late.r, '1234', { expiresAt: clock.now() + 60_000 }))
        .then(
          () => undefined,
          (e: { code?: string; details?: { quote?: FxQuoteView } }) => e,
        );
      expect(refused?.code).toBe('QUOTE_EXPIRED');
      expect(await late.customer.wallet.balance()).toBe(late.total);
      // Nothing changed but the time: the new quote asks the same price.
      const fresh = refused!.details!.quote!;
      expect(fresh.quoteId).not.toBe(late.r.quote.quoteId);
      expect([fresh.amount, fresh.total]).toEqual([late.r.quote.amount, late.r.quote.total]);
      paid.push(await approve({ ...late, r: { ...late.r, quote: fresh } }, c.late));
    } else {
      paid.push(await approve(late, c.late));
    }

    await all(paid.map((x) => refund(x, n)));
    await quiet();
    await checkOutcome(before, paid);
  }

  /**
   * Under faults: the payments are approved and refunded while node messages are lost, repeated or held
   * back; then the network heals, the time of any transfer still waiting runs out, and every payment and
   * refund must end the same everywhere with money counted exactly.
   */
  async function runFaultCase(
    c: typeof arbFaultCase extends fc.Arbitrary<infer C> ? C : never,
  ): Promise<void> {
    const n = seq++;
    await applySettings(c);
    const before = await books();
    const preps = await all(c.payments.map((p) => prepare(p)));
    let i = 0;
    nextFault = () => c.faults[i++ % c.faults.length]!;
    let submitted;
    try {
      submitted = await all(
        preps.map(async (prep, k) => {
          const approval = await prep.customer.wallet.approval(prep.r, '1234', {
            expiresAt: clock.now() + 60_000,
          });
          const answer = await prep.customer.wallet.submit(approval).then(
            (v) => v,
            () => undefined,
          );
          // Refund what a completed payment's merchant already holds, in full, still under faults.
          let refund: string | undefined;
          if (answer?.status === 'COMPLETED') {
            const seen = await vi.waitFor(
              async () => {
                const got = (await prep.merchant.client.request(prep.req.id)).payments;
                expect(got.map((x) => x.status)).toEqual(['COMPLETED']);
                return got[0]!;
              },
              { timeout: 20_000, interval: 50 },
            );
            const amount = BigInt(seen.net?.value ?? seen.amount.value);
            if (c.payments[k]!.refunds.length > 0 && amount > 0n) {
              const r = await prep.merchant.client
                .refund(seen.paymentId, money(amount, prep.currency), { idempotencyKey: `fault-${n}-${k}` })
                .then(
                  (v) => v,
                  () => undefined,
                );
              refund = r?.refundId;
            }
          }
          return { prep, answer, refund };
        }),
      );
    } finally {
      nextFault = () => 'pass';
    }
    // The network heals; whatever still waits for a payee runs out of time at the hub. Every payment ends at
    // its payer, every refund at its merchant, and the network goes quiet.
    clock.advance(TRANSFER_TTL_MS);
    const ended = await all(
      submitted.map(async ({ prep, answer, refund }) => {
        const status = answer
          ? (
              await vi.waitFor(
                async () => {
                  const now = await prep.customer.wallet.payment(answer.paymentId);
                  expect(now.status).not.toBe('PENDING');
                  return now;
                },
                { timeout: 30_000, interval: 50 },
              )
            ).status
          : 'FAILED';
        if (refund) {
          await vi.waitFor(
            async () => {
              const listed = await prep.merchant.client.refunds(answer!.paymentId);
              expect(listed.refunds.find((y) => y.refundId === refund)?.status).not.toBe('PENDING');
            },
            { timeout: 30_000, interval: 50 },
          );
        }
        return { prep, answer, refund, status };
      }),
    );
    await quiet();
    const paid = await all(
      ended.map(async ({ prep, answer, refund, status }, k): Promise<Paid> => {
        const seen = (await prep.merchant.client.request(prep.req.id)).payments.find(
          (y) => y.status === 'COMPLETED',
        );
        const refunds = refund
          ? (await prep.merchant.client.refunds(answer!.paymentId)).refunds.filter(
              (y) => y.refundId === refund && y.status === 'COMPLETED',
            )
          : [];
        return {
          p: c.payments[k]!,
          payer: prep.payer,
          payee: prep.payee,
          currency: prep.currency,
          customer: prep.customer,
          merchant: prep.merchant,
          requestId: prep.req.id,
          quote: prep.r.quote,
          total: prep.total,
          status: status === 'COMPLETED' ? 'COMPLETED' : 'FAILED',
          paymentId: answer?.paymentId,
          net: seen ? BigInt(seen.net?.value ?? seen.amount.value) : 0n,
          refunds,
        };
      }),
    );
    await checkOutcome(before, paid);
  }

  it('conversion, fees, refunds and settlement never create or lose a minor unit', async () => {
    await fc.assert(fc.asyncProperty(arbCase, runCase), { numRuns: 12, endOnFailure: true });
  }, 600_000);

  it('node messages lost, repeated or held back: every payment and refund ends the same everywhere, money exact', async () => {
    await fc.assert(fc.asyncProperty(arbFaultCase, runFaultCase), { numRuns: 12, endOnFailure: true });
  }, 600_000);
});
