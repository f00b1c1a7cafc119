/**
 * A converted payment on the payer side: what it stores about its conversion (column `payments.fx`), the
 * ledger legs it reserves, posts or voids together, the interchange it books, and the checks that bind an
 * approval to the quote the customer was shown. The amounts come from the quote (`fx/service.ts`), which
 * computed them with `quote()` of `@semops/protocol`; nothing is recomputed here.
 *
 * Legs (all pending, booked atomically before the prepare; posted or voided atomically on the outcome):
 *   `<id>`      fx:<target>  → settlement:<target>   the merchant's amount (the transfer to the hub)
 *   `<id>:fx`   customer     → fx:<payer>            mid-rate cost, rounded down
 *   `<id>:fxm`  customer     → fxmargin:<payer>      spread + rounding (left out when 0)
 *   `<id>:fee`  customer     → fees:<payer>          fixed fee (left out when 0)
 * The customer is debited exactly the quoted total; each currency's legs sum to zero.
 */
import type { LedgerCommand, LedgerResult } from '@semops/ledger';
import { SemopsError, type MoneyWire, type TransferFees } from '@semops/protocol';
import type { HouseAccounts } from '../house-accounts.js';
import type { StoredQuote } from '../fx/service.js';

/**
 * The conversion of a payment, as stored in `payments.fx` (JSON). Amounts are minor-unit strings; rates are
 * exact reduced fractions: 1 major unit of the payment's currency = num/den major units of `source.currency`.
 */
export interface PaymentFx {
  readonly quoteId: string;
  /** The total debited from the customer, in the customer's currency (converted amount + fee). */
  readonly source: MoneyWire;
  /** The merchant's amount converted at the customer rate, rounded up. */
  readonly payerAmount: MoneyWire;
  readonly fee: MoneyWire;
  /** Customer rate (mid rate with the spread). */
  readonly rate: { readonly num: string; readonly den: string };
  readonly mid: { readonly num: string; readonly den: string };
  /** Credited to `fx:<customer currency>`: the mid-rate cost, rounded down. */
  readonly positionCredit: MoneyWire;
  /** Credited to `fxmargin:<customer currency>`: payerAmount − positionCredit. */
  readonly marginCredit: MoneyWire;
  /** `1 EUR = 394.412250 HUF`, as shown to the customer. */
  readonly rateShown: string;
}

/** The conversion stored on a payment row, if it was converted. */
export function paymentFxOf(row: { readonly fx?: string | null }): PaymentFx | undefined {
  return row.fx ? (JSON.parse(row.fx) as PaymentFx) : undefined;
}

/** What a payment stores of the quote it applied. */
export function paymentFxFrom(s: StoredQuote): PaymentFx {
  const m = (v: bigint): MoneyWire => ({ value: v.toString(), currency: s.payerCurrency });
  return {
    quoteId: s.id,
    source: m(s.total),
    payerAmount: m(s.payerAmount),
    fee: m(s.fee),
    rate: { num: s.rate.num.toString(), den: s.rate.den.toString() },
    mid: { num: s.mid.num.toString(), den: s.mid.den.toString() },
    positionCredit: m(s.positionCredit),
    marginCredit: m(s.marginCredit),
    rateShown: s.rateShown,
  };
}

interface LegRow {
  readonly id: string;
  readonly amount: string;
  readonly currency: string;
  readonly request_id: string;
  readonly refund_of: string | null;
  readonly fx?: string | null;
}

/** The customer-side legs that exist for a conversion (zero amounts are not booked). */
function customerLegs(fx: PaymentFx): Array<{ suffix: 'fx' | 'fxm' | 'fee'; amount: bigint }> {
  return [
    { suffix: 'fx' as const, amount: BigInt(fx.positionCredit.value) },
    { suffix: 'fxm' as const, amount: BigInt(fx.marginCredit.value) },
    { suffix: 'fee' as const, amount: BigInt(fx.fee.value) },
  ].filter((l) => l.amount > 0n);
}

/** Ids of a payment's pending ledger transfers: the payment id, and for a conversion its customer legs. */
export function pendingLegIds(p: LegRow): string[] {
  const fx = paymentFxOf(p);
  return [p.id, ...(fx ? customerLegs(fx).map((l) => `${p.id}:${l.suffix}`) : [])];
}

/**
 * The reservation of a payment: one pending transfer customer → settlement, or for a conversion the legs
 * listed at the top of this file. Book them with `executeAtomic`.
 */
export async function reservationCommands(
  p: LegRow,
  debitAccountId: string,
  house: HouseAccounts,
): Promise<LedgerCommand[]> {
  const code = p.refund_of === null ? 'payment' : 'refund';
  const reference = p.refund_of ?? p.request_id;
  const fx = paymentFxOf(p);
  const head: LedgerCommand = {
    kind: 'transfer',
    id: p.id,
    debitAccountId: fx ? await house.fx(p.currency) : debitAccountId,
    creditAccountId: await house.settlement(p.currency),
    amount: BigInt(p.amount),
    currency: p.currency,
    pending: true,
    code,
    reference,
  };
  if (!fx) return [head];
  const src = fx.source.currency;
  const credit = { fx: house.fx, fxm: house.fxmargin, fee: house.fees } as const;
  const legs: LedgerCommand[] = [head];
  for (const l of customerLegs(fx)) {
    legs.push({
      kind: 'transfer',
      id: `${p.id}:${l.suffix}`,
      debitAccountId,
      creditAccountId: await credit[l.suffix](src),
      amount: l.amount,
      currency: src,
      pending: true,
      code,
      reference,
    });
  }
  return legs;
}

/**
 * The outcome of an atomic reservation: undefined when booked (or already booked), 'INSUFFICIENT_FUNDS' when
 * the customer's balance does not cover it; anything else is an internal error.
 */
export function reservationOutcome(results: readonly LedgerResult[]): 'INSUFFICIENT_FUNDS' | undefined {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return undefined;
  if (failed.some((r) => !r.ok && r.code === 'EXCEEDS_CREDITS')) return 'INSUFFICIENT_FUNDS';
  const codes = failed.map((r) => (r.ok ? '' : r.code)).join(', ');
  throw new SemopsError('INTERNAL', `ledger refused the reservation: ${codes}`);
}

/** Post or void every pending leg of a payment (one atomic batch; ids derived, so a replay changes nothing). */
export function settleCommands(p: LegRow, outcome: 'post' | 'void'): LedgerCommand[] {
  return pendingLegIds(p).map((pendingId) => ({ kind: outcome, id: `${pendingId}:${outcome}`, pendingId }));
}

/**
 * The interchange the hub pays this processor for a purchase it made: `<id>:ic` settlement → interchange,
 * single-phase, in the transfer's currency. None for refunds or a zero interchange.
 */
export async function interchangeCommand(
  p: LegRow,
  fees: TransferFees | undefined,
  house: HouseAccounts,
): Promise<LedgerCommand | undefined> {
  if (!fees || p.refund_of !== null) return undefined;
  const amount = BigInt(fees.interchange);
  if (amount <= 0n) return undefined;
  return {
    kind: 'transfer',
    id: `${p.id}:ic`,
    debitAccountId: await house.settlement(p.currency),
    creditAccountId: await house.interchange(p.currency),
    amount,
    currency: p.currency,
    code: 'interchange',
    reference: p.id,
  };
}

/** Accepts a settle batch whose legs were already posted or voided earlier; refuses anything else. */
export function expectSettled(results: readonly LedgerResult[]): void {
  const bad = results.filter(
    (r) =>
      !r.ok &&
      r.code !== 'PENDING_ALREADY_POSTED' &&
      r.code !== 'PENDING_ALREADY_VOIDED' &&
      r.code !== 'LINKED_FAILED',
  );
  const first = bad[0];
  if (first && !first.ok) throw new SemopsError('INTERNAL', `ledger refused to settle: ${first.code}`);
}
