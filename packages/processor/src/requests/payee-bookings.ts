/**
 * What the payee side books when an incoming transfer commits (issue 5):
 * - a purchase: the merchant gets the amount less the merchant service charge (MSC), the MSC goes to fee
 *   income, and the interchange the hub pays on to the payer processor leaves through the settlement account;
 * - a refund of a payment our customer made in another currency: the refund arrives in the merchant's
 *   currency and is booked back into the customer's currency at the ORIGINAL quote's customer rate, rounded
 *   down (`refundConversion` in @semops/protocol), reversing the FX position and the FX margin.
 * Every booking is an explicit ledger transfer with a fixed id, applied atomically, so a commit that is run
 * again after a crash books nothing twice.
 */
import type { Ledger, LedgerCommand, OpenTransaction, TransferCommand } from '@semops/ledger';
import type { Sql } from '@semops/node';
import { SemopsError, makeRate, refundConversion, type Rate, type TransferPrepare } from '@semops/protocol';
import type { HouseAccounts } from '../house-accounts.js';

export type Purpose = 'purchase' | 'p2p';

/**
 * The merchant category code of an agent's till (ISO 18245 6010, financial institutions — manual cash
 * disbursements). On this network it means cash-out and nothing else: agents are created with it, and a plain
 * merchant may not take it (`merchants/service.ts`).
 */
export const CASH_OUT_CATEGORY = '6010';

/**
 * What pays a request, from its payee as the signed request token names it (`merchant`): a merchant's
 * request is paid by a purchase (the hub's fee schedule applies); a person's request (payee id `p2p`) and an
 * agent's till (category {@link CASH_OUT_CATEGORY}: the customer takes the whole amount in cash, which is not
 * a purchase and bears no merchant service charge) by a `p2p` transfer. The payer processor sends this
 * purpose, and the payee processor expects the same from its own records (`expectedPurpose`).
 */
export function purposeOf(payee: { readonly id: string; readonly category: string }): Purpose {
  if (payee.id === 'p2p' || payee.category === CASH_OUT_CATEGORY) return 'p2p';
  return 'purchase';
}

/**
 * The purpose the payee side expects for one of its requests (or incoming transfers): `purposeOf` the payee
 * its token names — `p2p` for a person's request (no merchant) and for an agent's till, `purchase` for any
 * other merchant's. A refund is always `p2p` (checked where refunds are accepted).
 */
export function expectedPurpose(
  payee: { readonly merchant_id: string | null },
  merchant: { readonly category: string } | undefined,
): Purpose {
  if (payee.merchant_id === null) return 'p2p';
  if (!merchant) throw new SemopsError('INTERNAL', `merchant ${payee.merchant_id} is not known`);
  return purposeOf({ id: payee.merchant_id, category: merchant.category });
}

/** The hub's fees of an incoming transfer, in minor units of its currency. */
export interface IncomingFees {
  readonly msc: bigint;
  readonly interchange: bigint;
}

/**
 * Checks a prepare's `purpose` against what its request (or refund) is, and the hub's fees against the
 * amount. Returns the fees to store. Throws TRANSFER_CONFLICT on a purpose mismatch (with a message that
 * says which purpose was expected) and VALIDATION_FAILED on fees that cannot be right.
 */
export function checkPurposeAndFees(p: TransferPrepare, expected: Purpose, what: string): IncomingFees {
  const got: Purpose = p.purpose ?? 'p2p';
  if (got !== expected) {
    throw new SemopsError(
      'TRANSFER_CONFLICT',
      expected === 'purchase'
        ? `${what} is a merchant's: it is paid by a purchase (purpose "purchase"), not "${got}".`
        : `${what} is not a purchase (a person's request, an agent's cash-out till or a refund): it is paid without purpose or with purpose "p2p", not "${got}".`,
    );
  }
  const msc = BigInt(p.fees?.msc ?? '0');
  const interchange = BigInt(p.fees?.interchange ?? '0');
  if (expected !== 'purchase' && (msc !== 0n || interchange !== 0n)) {
    throw new SemopsError('VALIDATION_FAILED', 'Fees apply to purchases only; this transfer carries fees.');
  }
  if (msc < 0n || interchange < 0n || msc > BigInt(p.amount.value) || interchange > msc) {
    throw new SemopsError(
      'VALIDATION_FAILED',
      `The fees do not fit the amount: need 0 ≤ interchange (${interchange}) ≤ msc (${msc}) ≤ amount (${p.amount.value}).`,
    );
  }
  return { msc, interchange };
}

/** The ledger ids of the payee-side bookings of incoming transfer `tid`. */
export const inIds = (tid: string) => ({
  /** settlement → payee (amount − msc); for a converted refund settlement:TGT → fx:TGT (amount). */
  credit: `in:${tid}`,
  msc: `in:${tid}:msc`,
  ic: `in:${tid}:ic`,
  /** Converted refund: fx:SRC → customer (the mid-rate share). */
  fx: `in:${tid}:fx`,
  /** Converted refund: fxmargin:SRC → customer (or back when negative). */
  fxm: `in:${tid}:fxm`,
});

function transfer(
  id: string,
  debitAccountId: string,
  creditAccountId: string,
  amount: bigint,
  currency: string,
  code: string,
  reference: string,
): TransferCommand {
  return { kind: 'transfer', id, debitAccountId, creditAccountId, amount, currency, code, reference };
}

/**
 * The bookings of an incoming payment or same-currency refund: settlement → payee (amount − msc),
 * settlement → fees (msc), interchange → settlement (interchange). Zero amounts are left out.
 */
export async function paymentInCommands(
  house: HouseAccounts,
  i: { id: string; amount: string; currency: string; refund_of: string | null },
  fees: IncomingFees,
  payeeAccountId: string,
): Promise<TransferCommand[]> {
  const ids = inIds(i.id);
  const cur = i.currency;
  const settlement = await house.settlement(cur);
  const net = BigInt(i.amount) - fees.msc;
  const out: TransferCommand[] = [];
  const code = i.refund_of === null ? 'payment' : 'refund';
  if (net > 0n) out.push(transfer(ids.credit, settlement, payeeAccountId, net, cur, code, i.id));
  if (fees.msc > 0n)
    out.push(transfer(ids.msc, settlement, await house.fees(cur), fees.msc, cur, 'msc', i.id));
  if (fees.interchange > 0n) {
    out.push(
      transfer(ids.ic, await house.interchange(cur), settlement, fees.interchange, cur, 'interchange', i.id),
    );
  }
  return out;
}

/** The conversion of one of our customers' payments, as the payer side stored it (`payments.fx`). */
export interface OriginalFx {
  readonly payerCurrency: string;
  readonly rate: Rate;
  readonly mid: Rate;
  readonly rateShown?: string;
}

/** The currency of a stored amount: a currency code itself, or money `{ value, currency }`. */
function currencyOf(v: unknown): string | undefined {
  const c = typeof v === 'object' && v !== null ? (v as { currency?: unknown }).currency : v;
  return typeof c === 'string' && /^[A-Z]{3}$/.test(c) ? c : undefined;
}

function rateOf(v: unknown): Rate {
  const r = v as { num?: unknown; den?: unknown } | null;
  const big = (x: unknown) => {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'bigint') throw new RangeError();
    return BigInt(x);
  };
  return makeRate(big(r?.num), big(r?.den));
}

/**
 * Reads the `fx` column of a payments row (written by the payer side when it converted): the customer rate
 * and mid rate of the quote (1 major target = rate major payer currency) and the payer's currency (`source`,
 * the total debited, as money; `PaymentFx` in payments/fx.ts). Null when the payment was not converted;
 * INTERNAL when the column is damaged.
 */
export function parseOriginalFx(
  json: string | null | undefined,
  fallbackCurrency: string,
): OriginalFx | null {
  if (json === null || json === undefined || json === '') return null;
  try {
    const fx = JSON.parse(json) as Record<string, unknown> | null;
    if (fx === null) return null;
    const payerCurrency = currencyOf(fx.source) ?? currencyOf(fx.payerAmount) ?? fallbackCurrency;
    return {
      payerCurrency,
      rate: rateOf(fx.rate),
      mid: rateOf(fx.mid),
      ...(typeof fx.rateShown === 'string' ? { rateShown: fx.rateShown } : {}),
    };
  } catch (e) {
    throw new SemopsError(
      'INTERNAL',
      'The stored conversion of the refunded payment cannot be read.',
      undefined,
      {
        cause: e,
      },
    );
  }
}

/** How one refund of a converted payment was booked back, fixed at its first commit (`incoming.refund_fx`). */
export interface RefundFx {
  readonly payerCurrency: string;
  /** Refunds (target currency) of the same payment booked before this one. */
  readonly refundedBefore: string;
  readonly customerCredit: string;
  readonly fxReversal: string;
  readonly marginReversal: string;
  readonly rateShown?: string;
}

/**
 * Fixes how refund `i` of converted payment `orig` is booked back: cumulative floors over the refunds of the
 * same payment already fixed, so that partial refunds add up exactly to a full refund. Computed once, under a
 * lock on the original payment's row, and stored on the incoming row; a re-run returns the stored result.
 */
export async function fixRefundConversion(
  q: Sql,
  i: { id: string; amount: string; refund_of: string; refund_fx: string | null },
  orig: { amount: string; currency: string },
  fx: OriginalFx,
): Promise<RefundFx> {
  if (i.refund_fx !== null) return JSON.parse(i.refund_fx) as RefundFx;
  return q.tx(async (tx) => {
    // Lock the original payment's row: refunds of one payment are fixed one after another.
    await tx.run`UPDATE payments SET updated_at = updated_at WHERE id = ${i.refund_of}`;
    const again = await tx.one<{
      refund_fx: string | null;
    }>`SELECT refund_fx FROM incoming WHERE id = ${i.id}`;
    if (again?.refund_fx) return JSON.parse(again.refund_fx) as RefundFx;
    const earlier = await tx.all<{ amount: string }>`SELECT amount FROM incoming
      WHERE refund_of = ${i.refund_of} AND refund_fx IS NOT NULL AND id <> ${i.id}`;
    const before = earlier.reduce((s, e) => s + BigInt(e.amount), 0n);
    const c = refundConversion(
      {
        amount: BigInt(orig.amount),
        targetCurrency: orig.currency,
        payerCurrency: fx.payerCurrency,
        rate: fx.rate,
        mid: fx.mid,
      },
      before,
      BigInt(i.amount),
    );
    const fixed: RefundFx = {
      payerCurrency: fx.payerCurrency,
      refundedBefore: before.toString(),
      customerCredit: c.customerCredit.toString(),
      fxReversal: c.fxReversal.toString(),
      marginReversal: c.marginReversal.toString(),
      ...(fx.rateShown === undefined ? {} : { rateShown: fx.rateShown }),
    };
    await tx.run`UPDATE incoming SET refund_fx = ${JSON.stringify(fixed)} WHERE id = ${i.id} AND refund_fx IS NULL`;
    return fixed;
  });
}

/**
 * The bookings of a refund of a converted payment: settlement:TGT → fx:TGT (the refund), fx:SRC → customer
 * (the mid-rate share) and fxmargin:SRC → customer (the spread given back; the other way when negative).
 */
export async function convertedRefundCommands(
  house: HouseAccounts,
  i: { id: string; amount: string; currency: string },
  r: RefundFx,
  customerAccountId: string,
): Promise<TransferCommand[]> {
  const ids = inIds(i.id);
  const tgt = i.currency;
  const src = r.payerCurrency;
  const out: TransferCommand[] = [
    transfer(
      ids.credit,
      await house.settlement(tgt),
      await house.fx(tgt),
      BigInt(i.amount),
      tgt,
      'refund',
      i.id,
    ),
  ];
  const fxReversal = BigInt(r.fxReversal);
  const margin = BigInt(r.marginReversal);
  if (fxReversal > 0n) {
    out.push(transfer(ids.fx, await house.fx(src), customerAccountId, fxReversal, src, 'fx', i.id));
  }
  if (margin > 0n) {
    out.push(transfer(ids.fxm, await house.fxmargin(src), customerAccountId, margin, src, 'fxmargin', i.id));
  } else if (margin < 0n) {
    out.push(transfer(ids.fxm, customerAccountId, await house.fxmargin(src), -margin, src, 'fxmargin', i.id));
  }
  return out;
}

/** Applies bookings all or nothing; a replay of the same bookings is a no-op. Anything else is INTERNAL. */
export async function book(
  ledger: Ledger,
  commands: readonly LedgerCommand[],
  what: string,
  /** The caller's open transaction, to book in it (`Ledger.executeWithin`); by default a batch of its own. */
  within?: OpenTransaction,
): Promise<void> {
  if (commands.length === 0) return;
  const results = within
    ? await ledger.executeWithin(within, commands, { atomic: true })
    : await ledger.executeAtomic(commands);
  const failed = results.find((r) => !r.ok && r.code !== 'LINKED_FAILED') ?? results.find((r) => !r.ok);
  if (failed && !failed.ok) {
    throw new SemopsError(
      'INTERNAL',
      `The ledger refused the bookings of ${what}: ${failed.code} (${failed.message}).`,
    );
  }
}
