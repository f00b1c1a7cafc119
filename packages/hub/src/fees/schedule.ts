/**
 * The hub's fee schedule, as pure functions: its shape, its validation, which entry applies to a transfer and
 * the fees that entry gives.
 *
 * An entry `{ payee, currency, mscBps, mscFixed, interchangeBps }` says: a purchase paid to `payee` (a processor
 * id or `*`) in `currency` (an ISO code or `*`) carries a merchant service charge
 * `msc = min(A, ⌊A × mscBps / 10000⌋ + mscFixed)`, kept by the payee processor, of which the interchange
 * `splitFee(msc, { payee: 10000 − interchangeBps, payer: interchangeBps }).payer` is paid to the payer
 * processor. The most specific entry wins: (payee, currency) > (payee, *) > (*, currency) > (*, *); none, no fees.
 */
import { MAX_MINOR_UNITS, currencyInfo, splitFee, z, type TransferPrepare } from '@semops/protocol';

export interface FeeEntry {
  /** A processor id, or `*` for every payee. */
  readonly payee: string;
  /** An ISO 4217 code, or `*` for every currency. */
  readonly currency: string;
  /** Merchant service charge in basis points of the amount, 0..10000. */
  readonly mscBps: number;
  /** Fixed part of the merchant service charge, minor units of `currency` (`'0'` when `currency` is `*`). */
  readonly mscFixed: string;
  /** Share of the merchant service charge paid to the payer processor, in basis points, 0..10000. */
  readonly interchangeBps: number;
}

/** Fees of one transfer, minor units of its currency. */
export interface Fees {
  readonly msc: bigint;
  readonly interchange: bigint;
}

export const MAX_FEE_ENTRIES = 1000;
const WILDCARD = '*';

const bps = z.number().int('a whole number of basis points').min(0).max(10_000);
const feeEntry = z.strictObject({
  payee: z.union([z.literal(WILDCARD), z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'a processor id or *')]),
  currency: z.union([
    z.literal(WILDCARD),
    z
      .string()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code or *')
      .refine((c) => currencyInfo(c) !== undefined, 'a currency SEMOPS supports, or *'),
  ]),
  mscBps: bps,
  mscFixed: z
    .string()
    .regex(/^(0|[1-9]\d{0,18})$/, 'whole minor units as a string, e.g. "0" or "25"')
    .refine((v) => /^\d+$/.test(v) && BigInt(v) <= MAX_MINOR_UNITS, 'at most 9000000000000000000'),
  interchangeBps: bps,
});
export const feeScheduleBody = z.strictObject({
  entries: z.array(feeEntry).max(MAX_FEE_ENTRIES),
});

/** One thing wrong with a schedule: where (`entries.2.mscBps`) and what. */
export interface ScheduleIssue {
  readonly path: string;
  readonly message: string;
}

/** What the validation needs to know about the network. */
export interface ScheduleContext {
  /** The currencies a registered processor clears, or undefined for an unknown id. */
  currenciesOf(processorId: string): readonly string[] | undefined;
}

/**
 * Validates a schedule as sent to `PUT /v1/admin/fees`: its shape, then each entry against the network (a
 * registered payee clearing that currency), duplicates, and a fixed charge without a currency. Returns the
 * entries (sorted) or every issue found.
 */
export function validateSchedule(
  input: unknown,
  ctx: ScheduleContext,
): { entries: FeeEntry[] } | { issues: ScheduleIssue[] } {
  const parsed = feeScheduleBody.safeParse(input);
  if (!parsed.success) {
    return {
      issues: parsed.error.issues
        .slice(0, 20)
        .map((i) => ({ path: i.path.join('.') || 'body', message: i.message })),
    };
  }
  const issues: ScheduleIssue[] = [];
  const seen = new Map<string, number>();
  parsed.data.entries.forEach((e, i) => {
    const at = `entries.${i}`;
    const key = `${e.payee} ${e.currency}`;
    const first = seen.get(key);
    if (first !== undefined) {
      issues.push({
        path: at,
        message: `duplicate of entries.${first} (payee ${e.payee}, currency ${e.currency}); keep one`,
      });
    } else seen.set(key, i);
    if (e.payee !== WILDCARD) {
      const currencies = ctx.currenciesOf(e.payee);
      if (!currencies)
        issues.push({ path: `${at}.payee`, message: `${e.payee} is not a registered processor` });
      else if (e.currency !== WILDCARD && !currencies.includes(e.currency)) {
        issues.push({ path: `${at}.currency`, message: `${e.payee} does not clear ${e.currency}` });
      }
    }
    if (e.currency === WILDCARD && e.mscFixed !== '0') {
      issues.push({
        path: `${at}.mscFixed`,
        message: 'a fixed charge is in minor units of one currency: give the currency instead of *',
      });
    }
  });
  if (issues.length > 0) return { issues: issues.slice(0, 20) };
  return { entries: sortEntries(parsed.data.entries) };
}

/** Orders entries by payee then currency (`*` sorts first). */
export function sortEntries(entries: readonly FeeEntry[]): FeeEntry[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...entries].sort((a, b) => cmp(a.payee, b.payee) || cmp(a.currency, b.currency));
}

/** The entry that applies to a payment to `payee` in `currency`: the most specific match, if any. */
export function matchFee(
  entries: readonly FeeEntry[],
  payee: string,
  currency: string,
): FeeEntry | undefined {
  const find = (p: string, c: string) => entries.find((e) => e.payee === p && e.currency === c);
  return (
    find(payee, currency) ?? find(payee, WILDCARD) ?? find(WILDCARD, currency) ?? find(WILDCARD, WILDCARD)
  );
}

/** The fees an entry gives for `amount` minor units: the MSC never exceeds the amount. */
export function computeFees(entry: FeeEntry, amount: bigint): Fees {
  const proportional = (amount * BigInt(entry.mscBps)) / 10_000n;
  const total = proportional + BigInt(entry.mscFixed);
  const msc = total < amount ? total : amount;
  const interchange =
    msc === 0n
      ? 0n
      : (splitFee(msc, { payee: 10_000 - entry.interchangeBps, payer: entry.interchangeBps }).payer ?? 0n);
  return { msc, interchange };
}

/** Whether the schedule applies to a transfer: purchases only, never to a refund. */
export function isFeeable(t: Pick<TransferPrepare, 'purpose' | 'refundOf'>): boolean {
  return t.purpose === 'purchase' && t.refundOf === undefined;
}

/** The fees of a transfer under `entries`, or undefined when none apply (not a purchase, no entry, or 0). */
export function feesFor(entries: readonly FeeEntry[], t: TransferPrepare): Fees | undefined {
  if (!isFeeable(t)) return undefined;
  const entry = matchFee(entries, t.payee, t.amount.currency);
  if (!entry) return undefined;
  const fees = computeFees(entry, BigInt(t.amount.value));
  return fees.msc === 0n ? undefined : fees;
}
