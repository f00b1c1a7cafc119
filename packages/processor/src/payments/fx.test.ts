import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SemopsError, transferPrepare, type TransferPrepare } from '@semops/protocol';
import type { Customer } from '../customers/service.js';
import type { FxQuoteView } from '../fx/service.js';
import { PAYEE, startPayerKit, type PayerKit } from './testing.js';

// bank-c of docs/settlement.md: EUR/HUF 392.45, 50 bps spread, 100.00 HUF fee, quotes valid 30 s.
let k: PayerKit;
beforeAll(async () => {
  k = await startPayerKit({
    fx: {
      rates: [{ base: 'EUR', quote: 'HUF', rate: '392.45' }],
      spreadBps: 50,
      feeFixed: { HUF: '10000' },
      quoteTtlMs: 30_000,
    },
  });
});
afterAll(async () => {
  await k.close();
});
beforeEach(async () => {
  k.onPrepare = () => ({ state: 'COMMITTED' });
  k.onStatus = () => ({ state: 'UNKNOWN' });
  await k.fx.setRates([{ base: 'EUR', quote: 'HUF', rate: '392.45' }]);
});

const eur = (v: bigint) => ({ value: v.toString(), currency: 'EUR' });

/** A HUF customer who resolved a 10.00 EUR request of an mno-b merchant: what the phone shows. */
async function resolved(deposit = 100_000_00n, amount = 10_00n) {
  const c = await k.customer('HUF', deposit);
  const r = await k.payments.resolveToken(c, await k.remoteRequest({ currency: 'EUR', amount }));
  return { c, r };
}

/** House account balances by kind and currency, to compare before and after. */
async function books() {
  const kinds = ['settlement', 'fx', 'fxmargin', 'fees', 'interchange'] as const;
  const out: Record<string, bigint> = {};
  for (const kind of kinds)
    for (const cur of ['EUR', 'HUF']) out[`${kind}:${cur}`] = await k.balance(`${kind}:${cur}`);
  return out;
}
function moved(before: Record<string, bigint>, after: Record<string, bigint>) {
  return Object.fromEntries(
    Object.keys(after)
      .map((key) => [key, after[key]! - (before[key] ?? 0n)] as const)
      .filter(([, v]) => v !== 0n),
  );
}

async function caught(p: Promise<unknown>): Promise<SemopsError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SemopsError) return e;
    throw e;
  }
  throw new Error('expected a SemopsError');
}

/** A payment by PIN (as SMS and USSD make it), at the quote the channel showed (a conversion). */
const pay = (c: Customer, requestId: string, amount: bigint, quoteId?: string, pin = '1234') =>
  k.payments.approveWithPin(c, { requestId, payee: PAYEE }, eur(amount), pin, 'sms', quoteId);

describe('a payment in another currency: quote, legs, outcome', () => {
  it('shows the quote of the worked example at resolve: rate, fee and total in the customer currency', async () => {
    const { r } = await resolved();
    expect(r.quote).toMatchObject({
      amount: eur(10_00n),
      converted: { value: '394413', currency: 'HUF' },
      fee: { value: '10000', currency: 'HUF' },
      total: { value: '404413', currency: 'HUF' },
      rate: '1 EUR = 394.412250 HUF',
      expiresAt: k.clock + 30_000,
    });
    expect(r.quote?.quoteId).toMatch(/^fxq_/);
    expect(r.fee).toEqual({ value: '10000', currency: 'HUF' });
  });

  it('debits the customer the quoted total and books every leg exactly, posted together on commit', async () => {
    const { c, r } = await resolved();
    const before = await books();
    const bal0 = (await k.customers.balance(c.id)).balance;
    const view = await pay(c, r.requestId, 10_00n, r.quote!.quoteId);

    expect(view.status).toBe('COMPLETED');
    expect(view.charged).toEqual({ value: '404413', currency: 'HUF' });
    expect(view.fx).toEqual({
      quoteId: r.quote!.quoteId,
      rate: '1 EUR = 394.412250 HUF',
      fee: { value: '10000', currency: 'HUF' },
    });
    expect(bal0 - (await k.customers.balance(c.id)).balance).toBe(404413n);
    // docs/settlement.md: fx:HUF 3924.50, fxmargin:HUF 19.63, fees:HUF 100.00; fx:EUR → settlement:EUR 10.00.
    expect(moved(before, await books())).toEqual({
      'fx:HUF': 392450n,
      'fxmargin:HUF': 1963n,
      'fees:HUF': 10000n,
      'fx:EUR': -1000n,
      'settlement:EUR': 1000n,
    });
    for (const leg of ['', ':fx', ':fxm', ':fee']) {
      expect((await k.ledger.getTransfer(`${view.paymentId}${leg}`))?.state).toBe('posted');
    }
    for (const t of await k.ledger.totals()) expect(t.debitsPosted).toBe(t.creditsPosted);

    // The hub was told: a purchase, the amount in EUR, and the conversion (total, margin and conversion fee)
    // for its report — in a prepare the protocol accepts.
    const prepare = k.prepares.find((p) => p.transferId === view.paymentId)!;
    expect(prepare).toMatchObject({
      amount: eur(10_00n),
      purpose: 'purchase',
      fx: {
        source: { value: '404413', currency: 'HUF' },
        margin: { value: '1963', currency: 'HUF' },
        fee: { value: '10000', currency: 'HUF' },
        rate: '1 EUR = 394.412250 HUF',
      },
    });
    expect(prepare.fees).toBeUndefined();
    expect(transferPrepare.parse(prepare)).toEqual(prepare);

    // What the refund side reads: the conversion on the payment row.
    const row = await k.q.one<{ fx: string; charged: string }>`SELECT fx, charged FROM payments
      WHERE id = ${view.paymentId}`;
    expect(row?.charged).toBe('404413');
    expect(JSON.parse(row!.fx)).toEqual({
      quoteId: r.quote!.quoteId,
      source: { value: '404413', currency: 'HUF' },
      payerAmount: { value: '394413', currency: 'HUF' },
      fee: { value: '10000', currency: 'HUF' },
      // 392.45 × 1.005 = 7849/20 × 201/200, reduced.
      rate: { num: '1577649', den: '4000' },
      mid: { num: '7849', den: '20' },
      positionCredit: { value: '392450', currency: 'HUF' },
      marginCredit: { value: '1963', currency: 'HUF' },
      rateShown: '1 EUR = 394.412250 HUF',
    });
  });

  it('voids every leg together when the hub aborts: nothing is taken', async () => {
    k.onPrepare = () => ({ state: 'ABORTED', error: { code: 'TRANSFER_REJECTED', message: 'no' } });
    const { c, r } = await resolved();
    const before = await books();
    const view = await pay(c, r.requestId, 10_00n, r.quote!.quoteId);
    expect(view.status).toBe('FAILED');
    expect(view.error).toBe('TRANSFER_REJECTED');
    expect((await k.customers.balance(c.id)).balance).toBe(100_000_00n);
    expect(await k.pendingDebits(c.accountId)).toBe(0n);
    expect(moved(before, await books())).toEqual({});
    for (const leg of ['', ':fx', ':fxm', ':fee']) {
      expect((await k.ledger.getTransfer(`${view.paymentId}${leg}`))?.state).toBe('voided');
    }
  });

  it('refuses with INSUFFICIENT_FUNDS when the total (fee included) exceeds the balance; books nothing', async () => {
    // 4000.00 HUF covers the converted 3944.13 HUF but not the 4044.13 HUF total.
    const { c, r } = await resolved(4_000_00n);
    const before = await books();
    const e = await caught(pay(c, r.requestId, 10_00n, r.quote!.quoteId));
    expect(e.code).toBe('INSUFFICIENT_FUNDS');
    expect((await k.customers.balance(c.id)).available).toBe(4_000_00n);
    expect(moved(before, await books())).toEqual({});
    const p = await k.q.one<{ id: string; state: string }>`SELECT id, state FROM payments
      WHERE customer_id = ${c.id}`;
    expect(p?.state).toBe('FAILED');
    expect(await k.ledger.getTransfer(`${p!.id}:fx`)).toBeUndefined();
  });

  it('settles all legs after a lost answer: reconcile asks the hub, posts them and books the interchange', async () => {
    k.onPrepare = () => 'unreachable';
    const { c, r } = await resolved();
    const before = await books();
    const view = await pay(c, r.requestId, 10_00n, r.quote!.quoteId);
    expect(view.status).toBe('PENDING');
    expect(await k.pendingDebits(c.accountId)).toBe(404413n);

    k.clock += 5_000;
    k.onStatus = () => ({ state: 'COMMITTED', fees: { msc: '10', interchange: '2' } });
    await k.payments.reconcile();
    expect((await k.payments.get(c, view.paymentId)).status).toBe('COMPLETED');
    expect(await k.pendingDebits(c.accountId)).toBe(0n);
    expect(moved(before, await books())).toEqual({
      'fx:HUF': 392450n,
      'fxmargin:HUF': 1963n,
      'fees:HUF': 10000n,
      'fx:EUR': -1000n,
      'settlement:EUR': 998n,
      'interchange:EUR': 2n,
    });
    // A second reconcile or a late notification books nothing more.
    await k.payments.reconcile();
    await k.payments.onEvents([
      { transferId: view.paymentId, state: 'COMMITTED', fees: { msc: '10', interchange: '2' } },
    ]);
    expect(await k.balance('interchange:EUR')).toBe(before['interchange:EUR']! + 2n);
  });
});

describe('interchange income on the payer side', () => {
  it('books settlement → interchange once when the commit carries the fees', async () => {
    k.onPrepare = () => ({ state: 'COMMITTED', fees: { msc: '25', interchange: '5' } });
    const c = await k.customer('EUR', 100_00n);
    const r = await k.payments.resolveToken(c, await k.remoteRequest({ currency: 'EUR', amount: 25_00n }));
    const before = await books();
    const view = await pay(c, r.requestId, 25_00n);
    expect(view.status).toBe('COMPLETED');
    // settlement:EUR owes the hub 25.00 and is owed 0.05 back: −2495 in credits − debits terms is +2495 − 5.
    expect(moved(before, await books())).toEqual({ 'settlement:EUR': 2495n, 'interchange:EUR': 5n });
    const ic = await k.ledger.getTransfer(`${view.paymentId}:ic`);
    expect(ic).toMatchObject({
      amount: 5n,
      debitAccountId: 'settlement:EUR',
      creditAccountId: 'interchange:EUR',
    });
    expect(ic?.code).toBe('interchange');
    // The hub's notification repeats the outcome: nothing more.
    await k.payments.onEvents([
      { transferId: view.paymentId, state: 'COMMITTED', fees: { msc: '25', interchange: '5' } },
    ]);
    expect(moved(before, await books())).toEqual({ 'settlement:EUR': 2495n, 'interchange:EUR': 5n });
    expect((await k.payments.find(view.paymentId))?.fees).toEqual({ msc: '25', interchange: '5' });
  });

  it('books it when the fees arrive only with a later notification, and never for a zero interchange', async () => {
    const c = await k.customer('EUR', 100_00n);
    const r = await k.payments.resolveToken(c, await k.remoteRequest({ currency: 'EUR', amount: 10_00n }));
    const view = await pay(c, r.requestId, 10_00n);
    expect(view.status).toBe('COMPLETED');
    expect(await k.ledger.getTransfer(`${view.paymentId}:ic`)).toBeUndefined();
    const ic0 = await k.balance('interchange:EUR');
    await k.payments.onEvents([
      { transferId: view.paymentId, state: 'COMMITTED', fees: { msc: '10', interchange: '2' } },
    ]);
    await k.payments.onEvents([
      { transferId: view.paymentId, state: 'COMMITTED', fees: { msc: '10', interchange: '2' } },
    ]);
    expect((await k.balance('interchange:EUR')) - ic0).toBe(2n);

    k.onPrepare = () => ({ state: 'COMMITTED', fees: { msc: '0', interchange: '0' } });
    const r2 = await k.payments.resolveToken(c, await k.remoteRequest({ currency: 'EUR', amount: 1_00n }));
    const v2 = await pay(c, r2.requestId, 1_00n);
    expect(await k.ledger.getTransfer(`${v2.paymentId}:ic`)).toBeUndefined();
  });

  it('tells the hub what a transfer pays for: purchase, or p2p for a person; a same-currency payment is unchanged', async () => {
    const c = await k.customer('EUR', 100_00n);
    const r = await k.payments.resolveToken(c, await k.remoteRequest({ currency: 'EUR', amount: 3_00n }));
    expect(r.quote).toBeUndefined();
    expect(r.fee).toEqual({ value: '0', currency: 'EUR' });
    const v = await pay(c, r.requestId, 3_00n);
    expect(v.charged).toEqual(eur(3_00n));
    expect(v.fx).toBeUndefined();
    const p1 = k.prepares.find((p) => p.transferId === v.paymentId)!;
    expect(p1.purpose).toBe('purchase');
    expect(p1.fx).toBeUndefined();
    expect(await k.ledger.getTransfer(`${v.paymentId}:fx`)).toBeUndefined();

    const r2 = await k.payments.resolveToken(
      c,
      await k.remoteRequest({ currency: 'EUR', amount: 2_00n, category: '4829' }),
    );
    const v2 = await pay(c, r2.requestId, 2_00n);
    expect(k.prepares.find((p: TransferPrepare) => p.transferId === v2.paymentId)?.purpose).toBe('p2p');

    // An agent's till (merchant category 6010): cash-out, not a purchase — the hub must not charge an MSC.
    const till = await k.payments.resolveToken(
      c,
      await k.remoteRequest({ currency: 'EUR', amount: 20_00n, category: '6010' }),
    );
    const v3 = await pay(c, till.requestId, 20_00n);
    expect(v3.status).toBe('COMPLETED');
    expect(k.prepares.find((p: TransferPrepare) => p.transferId === v3.paymentId)?.purpose).toBe('p2p');
  });

  it('sends no conversion fee when there is none', async () => {
    await k.fx.setConfig({ feeFixed: {} });
    try {
      const { c, r } = await resolved();
      expect(r.quote?.fee).toEqual({ value: '0', currency: 'HUF' });
      const view = await pay(c, r.requestId, 10_00n, r.quote!.quoteId);
      expect(view.status).toBe('COMPLETED');
      const prepare = k.prepares.find((p) => p.transferId === view.paymentId)!;
      expect(prepare.fx).toEqual({
        source: { value: '394413', currency: 'HUF' },
        margin: { value: '1963', currency: 'HUF' },
        rate: '1 EUR = 394.412250 HUF',
      });
    } finally {
      await k.fx.setConfig({ feeFixed: { HUF: '10000' } });
    }
  });
});

describe('the quote an approval applies', () => {
  it('refuses an expired quote with a fresh one (never applies it), then pays at the fresh quote', async () => {
    const { c, r } = await resolved();
    k.clock += 30_000; // the quote holds until just before expiresAt
    await k.fx.setRates([{ base: 'EUR', quote: 'HUF', rate: '400' }]);
    const e = await caught(pay(c, r.requestId, 10_00n, r.quote!.quoteId));
    expect(e.code).toBe('QUOTE_EXPIRED');
    const d = e.details as { quote: FxQuoteView; stored: FxQuoteView };
    expect(d.stored.quoteId).toBe(r.quote!.quoteId);
    expect(d.quote.quoteId).not.toBe(r.quote!.quoteId);
    // 400 × 1.005 = 402: 10.00 EUR → 4020.00 HUF + 100.00 HUF.
    expect(d.quote).toMatchObject({
      rate: '1 EUR = 402.000000 HUF',
      total: { value: '412000', currency: 'HUF' },
    });
    expect(d.quote.expiresAt).toBe(k.clock + 30_000);
    expect((await k.customers.balance(c.id)).available).toBe(100_000_00n);
    expect(await k.q.one`SELECT id FROM payments WHERE customer_id = ${c.id}`).toBeUndefined();

    // Paid at the fresh quote once it is shown.
    const view = await pay(c, r.requestId, 10_00n, d.quote.quoteId);
    expect(view.status).toBe('COMPLETED');
    expect(view.charged).toEqual({ value: '412000', currency: 'HUF' });
    expect(view.fx?.quoteId).toBe(d.quote.quoteId);
  });

  it('keeps the quote after a wrong PIN or missing funds: nothing moved, the retry pays at the same price', async () => {
    const { c, r } = await resolved(4_000_00n);
    expect((await caught(pay(c, r.requestId, 10_00n, r.quote!.quoteId, '9999'))).code).toBe('PIN_INVALID');
    expect((await caught(pay(c, r.requestId, 10_00n, r.quote!.quoteId))).code).toBe('INSUFFICIENT_FUNDS');
    await k.customers.deposit(c.id, 1_000_00n, 'top-up-1');
    const view = await pay(c, r.requestId, 10_00n, r.quote!.quoteId);
    expect(view.status).toBe('COMPLETED');
    expect(view.fx?.quoteId).toBe(r.quote!.quoteId);
    expect((await k.customers.balance(c.id)).balance).toBe(5_000_00n - 404413n);
  });

  it('uses a quote for one payment only', async () => {
    const { c, r } = await resolved();
    expect((await pay(c, r.requestId, 10_00n, r.quote!.quoteId)).status).toBe('COMPLETED');
    const e = await caught(pay(c, r.requestId, 10_00n, r.quote!.quoteId));
    expect(e.code).toBe('QUOTE_EXPIRED');
    expect(e.message).toMatch(/already used/);
    expect((e.details as { quote: FxQuoteView }).quote.quoteId).not.toBe(r.quote!.quoteId);
  });

  it('wants a quote for exactly the amount approved (open amounts are quoted when typed)', async () => {
    const c = await k.customer('HUF', 100_000_00n);
    const r = await k.payments.resolveToken(
      c,
      await k.remoteRequest({ currency: 'EUR', minAmount: 1_00n, maxAmount: 100_00n }),
    );
    expect(r.quote).toBeUndefined();
    expect(r.fee).toEqual({ value: '10000', currency: 'HUF' });
    const q = await k.payments.quote(c, r.requestId, eur(12_00n));
    expect(q).toMatchObject({ amount: eur(12_00n), converted: { value: '473295', currency: 'HUF' } });
    // No quote was shown for 15.00 EUR.
    const e = await caught(pay(c, r.requestId, 15_00n));
    expect(e.code).toBe('QUOTE_NOT_FOUND');
    expect((e.details as { quote: FxQuoteView }).quote.amount).toEqual(eur(15_00n));
    const ok = await pay(c, r.requestId, 15_00n, (e.details as { quote: FxQuoteView }).quote.quoteId);
    expect(ok.status).toBe('COMPLETED');
    // A quote for an amount outside the request's range is refused like the payment would be.
    expect((await caught(k.payments.quote(c, r.requestId, eur(500_00n)))).code).toBe('AMOUNT_OUT_OF_RANGE');
  });

  it('refuses a request in a currency without a rate at resolve, and a quote where nothing converts', async () => {
    const jpy = await k.customer('JPY', 10_000n);
    const e = await caught(
      k.payments.resolveToken(jpy, await k.remoteRequest({ currency: 'EUR', amount: 1_00n })),
    );
    expect(e.code).toBe('RATE_NOT_AVAILABLE');
    expect(e.details).toEqual({ from: 'EUR', to: 'JPY' });

    const c = await k.customer('EUR', 10_00n);
    const r = await k.payments.resolveToken(c, await k.remoteRequest({ currency: 'EUR', amount: 1_00n }));
    expect((await caught(k.payments.quote(c, r.requestId, eur(1_00n)))).code).toBe('VALIDATION_FAILED');
  });

  it('keeps nothing of a payment whose reservation broke: no payment, the quote free again', async () => {
    const { c, r } = await resolved();
    const quoteId = r.quote!.quoteId;
    // The payment, the quote taken and the ledger legs are one transaction: the ledger failing mid-way (a bug,
    // a full disk) undoes the payment and the quote with it.
    const executeWithin = k.ledger.executeWithin.bind(k.ledger);
    k.ledger.executeWithin = () => Promise.reject(new Error('disk full'));
    try {
      await expect(pay(c, r.requestId, 10_00n, quoteId)).rejects.toThrow('disk full');
    } finally {
      k.ledger.executeWithin = executeWithin;
    }
    const rows = await k.q.all<{ id: string }>`SELECT id FROM payments WHERE customer_id = ${c.id}`;
    expect(rows).toEqual([]);
    expect((await k.fx.get(quoteId))?.paymentId).toBeNull();
    // The customer pays at the price they were shown while it holds.
    const view = await pay(c, r.requestId, 10_00n, quoteId);
    expect(view.status).toBe('COMPLETED');
    expect(view.fx?.quoteId).toBe(quoteId);
  });

  it('shows the same unused quote again while it holds for half its validity, then a new one', async () => {
    const { c, r } = await resolved();
    const first = r.quote!;
    const code = await k.remoteRequest({ currency: 'EUR', amount: 10_00n });
    // Resolving again and asking again for the same amount: the same quote, nothing stored.
    const count = async () =>
      Number(
        (await k.q.one<{ n: number }>`SELECT COUNT(*) AS n FROM fx_quotes WHERE customer_id = ${c.id}`)!.n,
      );
    expect(await count()).toBe(1);
    k.clock += 15_000;
    expect((await k.payments.quote(c, r.requestId, eur(10_00n))).quoteId).toBe(first.quoteId);
    expect(await count()).toBe(1);
    // Another request, or another amount, is another quote.
    const other = await k.payments.resolveToken(c, code);
    expect(other.quote!.quoteId).not.toBe(first.quoteId);
    expect(await count()).toBe(2);
    // Less than half of its validity left: a new quote, so that the customer has time to answer.
    k.clock += 1;
    const fresh = await k.payments.quote(c, r.requestId, eur(10_00n));
    expect(fresh.quoteId).not.toBe(first.quoteId);
    expect(fresh.expiresAt).toBe(k.clock + 30_000);
    expect((await k.payments.quote(c, r.requestId, eur(10_00n))).quoteId).toBe(fresh.quoteId);
    // A used quote is never offered again.
    expect((await pay(c, r.requestId, 10_00n, fresh.quoteId)).status).toBe('COMPLETED');
    expect((await k.payments.quote(c, r.requestId, eur(10_00n))).quoteId).not.toBe(fresh.quoteId);
    // Nor another customer's.
    const c2 = await k.customer('HUF', 0n);
    await k.payments.resolveToken(c2, code);
    expect((await k.payments.quote(c2, other.requestId, eur(10_00n))).quoteId).not.toBe(other.quote!.quoteId);
  });

  it('purges unused quotes a day after they expired, keeps those a payment used', async () => {
    const { c, r } = await resolved();
    const used = await pay(c, r.requestId, 10_00n, r.quote!.quoteId);
    expect(used.status).toBe('COMPLETED');
    const { r: r2 } = await resolved();
    const unused = r2.quote!.quoteId;
    const all = async () => (await k.q.all<{ id: string }>`SELECT id FROM fx_quotes`).map((x) => x.id);

    k.clock += 30_000 + 24 * 3_600_000; // expired exactly a day ago: not yet (older tests' quotes go)
    await k.fx.purge();
    expect(await all()).toContain(unused);
    expect(await all()).toContain(r.quote!.quoteId);

    k.clock += 1;
    const { r: r3 } = await resolved(); // a quote that still holds stays
    await k.fx.purge();
    const left = await all();
    expect(left).not.toContain(unused);
    expect(left).toContain(r.quote!.quoteId);
    expect(left).toContain(r3.quote!.quoteId);
    expect((await k.payments.get(c, used.paymentId)).fx?.quoteId).toBe(r.quote!.quoteId);
  });

  it('never converts a mandate instalment (no one sees a quote)', async () => {
    const { c, r } = await resolved();
    const e = await caught(
      k.payments.payInstalment(c, 'dev', { requestId: r.requestId, payee: PAYEE }, eur(10_00n), null),
    );
    expect(e.code).toBe('CURRENCY_MISMATCH');
  });
});

describe('limits in the customer currency', () => {
  it('checks the per-transaction limit against the total debited, not the merchant amount', async () => {
    const { c, r } = await resolved();
    await k.limits.setOwn(c.id, { perTransaction: 4_000_00n });
    const e = await caught(pay(c, r.requestId, 10_00n, r.quote!.quoteId));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.details).toMatchObject({ limit: 'perTransaction', value: '400000', currency: 'HUF' });
    expect((await k.customers.balance(c.id)).available).toBe(100_000_00n);
  });

  it('counts converted payments at their HUF totals in the daily limit', async () => {
    const { c, r } = await resolved();
    await k.limits.setOwn(c.id, { daily: 8_000_00n });
    expect((await pay(c, r.requestId, 10_00n, r.quote!.quoteId)).status).toBe('COMPLETED');
    await k.payments.resolveToken(c, await k.remoteRequest({ currency: 'EUR', amount: 10_00n }));
    const r2 = await k.payments.resolveToken(c, await k.remoteRequest({ currency: 'EUR', amount: 10_00n }));
    // 4044.13 + 4044.13 HUF > 8000.00 HUF (in EUR minor units it would be 20.00).
    const e = await caught(pay(c, r2.requestId, 10_00n, r2.quote!.quoteId));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.details).toMatchObject({
      limit: 'daily',
      remaining: String(8_000_00n - 404413n),
      currency: 'HUF',
    });
  });
});
