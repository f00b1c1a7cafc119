/**
 * Properties of the fee arithmetic (`computeFees`) and of the choice of entry (`matchFee`), for random amounts
 * from 1 to 9·10¹⁸ minor units and random schedules.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MINOR_UNITS, splitFee } from '@semops/protocol';
import { computeFees, matchFee, sortEntries, type FeeEntry } from './schedule.js';

const amount = fc.bigInt({ min: 1n, max: MAX_MINOR_UNITS });
const bps = fc.integer({ min: 0, max: 10_000 });
/** A fixed part: often small (cents), sometimes anything up to the largest amount. */
const fixed = fc.oneof(fc.bigInt({ min: 0n, max: 1_000n }), fc.bigInt({ min: 0n, max: MAX_MINOR_UNITS }));

const entry = (mscBps: number, mscFixed: bigint, interchangeBps: number): FeeEntry => ({
  payee: '*',
  currency: '*',
  mscBps,
  mscFixed: mscFixed.toString(),
  interchangeBps,
});

describe('fee arithmetic (property)', () => {
  it('charges msc = min(A, ⌊A·bps/10000⌋ + fixed), and 0 ≤ interchange ≤ msc ≤ A', () => {
    fc.assert(
      fc.property(amount, bps, fixed, bps, (a, mscBps, mscFixed, interchangeBps) => {
        const { msc, interchange } = computeFees(entry(mscBps, mscFixed, interchangeBps), a);
        const charge = (a * BigInt(mscBps)) / 10_000n + mscFixed;
        expect(msc).toBe(charge < a ? charge : a);
        expect(interchange).toBeGreaterThanOrEqual(0n);
        expect(interchange).toBeLessThanOrEqual(msc);
        expect(msc).toBeLessThanOrEqual(a);
      }),
      {
        numRuns: 2000,
        examples: [
          [1n, 0, 0n, 0],
          [1n, 10_000, 0n, 10_000],
          [MAX_MINOR_UNITS, 10_000, MAX_MINOR_UNITS, 10_000],
          [MAX_MINOR_UNITS, 9_999, 0n, 1],
          [99n, 100, 0n, 2000],
        ],
      },
    );
  });

  it('splits the MSC exactly: the payee’s share and the interchange add up to it, each within a unit of its exact share', () => {
    fc.assert(
      fc.property(amount, bps, fixed, bps, (a, mscBps, mscFixed, interchangeBps) => {
        const { msc, interchange } = computeFees(entry(mscBps, mscFixed, interchangeBps), a);
        const split =
          msc === 0n
            ? { payee: 0n, payer: 0n }
            : splitFee(msc, { payee: 10_000 - interchangeBps, payer: interchangeBps });
        const payeeShare = split.payee!;
        expect(split.payer).toBe(interchange);
        expect(payeeShare + interchange).toBe(msc);
        expect(payeeShare).toBeGreaterThanOrEqual(0n);
        // |share − msc·bps/10000| < 1, in whole numbers.
        const off = (share: bigint, b: number) => share * 10_000n - msc * BigInt(b);
        for (const [share, b] of [
          [interchange, interchangeBps],
          [payeeShare, 10_000 - interchangeBps],
        ] as const) {
          expect(off(share, b) < 10_000n && off(share, b) > -10_000n).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

const PAYEES = ['bank-a', 'mno-b', 'bank-c'];
const CURRENCIES = ['EUR', 'HUF', 'JPY'];

/** A schedule: at most one entry per (payee, currency), each with its own marker in `mscBps`. */
const schedule = fc
  .uniqueArray(
    fc.record({
      payee: fc.constantFrom('*', ...PAYEES),
      currency: fc.constantFrom('*', ...CURRENCIES),
    }),
    { selector: (e) => `${e.payee} ${e.currency}`, maxLength: 16 },
  )
  .map((keys) => keys.map((k, i): FeeEntry => ({ ...k, mscBps: i, mscFixed: '0', interchangeBps: 0 })));

/** The reference: among the entries that apply, the one naming the payee wins, then the one naming the currency. */
function mostSpecific(entries: readonly FeeEntry[], payee: string, currency: string): FeeEntry | undefined {
  const rank = (e: FeeEntry) => (e.payee === payee ? 2 : 0) + (e.currency === currency ? 1 : 0);
  return entries
    .filter((e) => (e.payee === '*' || e.payee === payee) && (e.currency === '*' || e.currency === currency))
    .reduce<FeeEntry | undefined>(
      (best, e) => (best === undefined || rank(e) > rank(best) ? e : best),
      undefined,
    );
}

describe('fee schedule matching (property)', () => {
  it('takes the most specific entry that applies, whatever the order of the schedule', () => {
    fc.assert(
      fc.property(
        schedule,
        fc.constantFrom(...PAYEES),
        fc.constantFrom(...CURRENCIES),
        fc.array(fc.integer(), { minLength: 16, maxLength: 16 }),
        (entries, payee, currency, shuffle) => {
          const expected = mostSpecific(entries, payee, currency);
          expect(matchFee(entries, payee, currency)).toBe(expected);
          const shuffled = entries
            .map((e, i) => ({ e, k: shuffle[i]! }))
            .sort((x, y) => x.k - y.k)
            .map((x) => x.e);
          expect(matchFee(shuffled, payee, currency)).toBe(expected);
          expect(matchFee(sortEntries(entries), payee, currency)).toBe(expected);
          // None applies exactly when no entry names (or wildcards) both the payee and the currency.
          const applies = entries.some(
            (e) => (e.payee === '*' || e.payee === payee) && (e.currency === '*' || e.currency === currency),
          );
          expect(expected !== undefined).toBe(applies);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
