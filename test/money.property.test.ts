/**
 * Property: across the whole network, conversion, fee and refund rounding never create or lose a minor unit.
 *
 * Random windows of payments between processors holding different currencies (EUR, HUF, JPY, BHD), each
 * converting at its own random rate, spread and fee, under a random hub fee schedule, with random partial
 * refunds — booked on every node the way the nodes book them (docs/settlement.md), with the production
 * arithmetic: `quote` and `refundConversion` (payer processor), `computeFees` (hub), `aggregate` and
 * `instructions` (the window's report). Checked after every window: each processor's settlement account equals
 * its hub position, the report's nets equal the positions and sum to zero per currency, its instructions
 * settle every net exactly, every merchant got exactly the amount less the MSC, every customer paid exactly
 * the quoted total, full refunds close the FX position exactly, and booking the settlement brings every
 * settlement account and hub position back to zero.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregate, computeFees, imbalances, instructions, type WindowTransfer } from '@semops/hub';
import { makeRate, quote, refundConversion, type Rate } from '@semops/protocol';

const CURRENCIES = ['EUR', 'HUF', 'JPY', 'BHD'] as const;

/** One node's books: account → signed balance (debits − credits). */
type Books = Map<string, bigint>;

function book(b: Books, debit: string, credit: string, amount: bigint): void {
  if (amount < 0n) return book(b, credit, debit, -amount);
  b.set(debit, (b.get(debit) ?? 0n) + amount);
  b.set(credit, (b.get(credit) ?? 0n) - amount);
}
const bal = (b: Books, account: string) => b.get(account) ?? 0n;

const arbRate: fc.Arbitrary<Rate> = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 9n }), fc.bigInt({ min: 1n, max: 10n ** 9n }))
  .map(([n, d]) => makeRate(n, d));

const arbProcessor = fc.record({
  currency: fc.constantFrom(...CURRENCIES),
  spreadBps: fc.integer({ min: 0, max: 500 }),
  fee: fc.bigInt({ min: 0n, max: 10_000n }),
});

const arbPayment = fc.record({
  payer: fc.nat(),
  payee: fc.nat(),
  amount: fc.bigInt({ min: 1n, max: 10n ** 12n }),
  purchase: fc.boolean(),
  /** Refund this share of it afterwards, in up to two parts (per mille; 0 = no refund). */
  refund: fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })),
});

describe('money across the network (property)', () => {
  it('conversion, fees, interchange, refunds and settlement never create or lose a minor unit', () => {
    fc.assert(
      fc.property(
        fc.array(arbProcessor, { minLength: 2, maxLength: 4 }),
        fc.dictionary(fc.constantFrom(...CURRENCIES), arbRate, { minKeys: 4 }),
        fc.record({
          mscBps: fc.integer({ min: 0, max: 10_000 }),
          mscFixed: fc.bigInt({ min: 0n, max: 500n }),
          interchangeBps: fc.integer({ min: 0, max: 10_000 }),
        }),
        fc.array(arbPayment, { minLength: 1, maxLength: 12 }),
        (procs, perEur, fee, payments) => {
          const ids = procs.map((_, i) => `p${i}`);
          const books = new Map(ids.map((id) => [id, new Map() as Books]));
          const hub: Books = new Map();
          const transfers: WindowTransfer[] = [];
          // The mid rate of a pair from each currency's rate against EUR (1 EUR = r units), exact.
          const mid = (target: string, payer: string): Rate => {
            const t = target === 'EUR' ? makeRate(1n, 1n) : perEur[target]!;
            const p = payer === 'EUR' ? makeRate(1n, 1n) : perEur[payer]!;
            return makeRate(p.num * t.den, p.den * t.num); // 1 target = (p / t) payer
          };
          let seq = 0;
          for (const pay of payments) {
            const pi = pay.payer % ids.length;
            const qi = pay.payee % ids.length;
            if (pi === qi) continue; // on-us payments never reach the hub
            const [payer, payee] = [ids[pi]!, ids[qi]!];
            const [P, Q] = [procs[pi]!, procs[qi]!];
            const pb = books.get(payer)!;
            const qb = books.get(payee)!;
            const cur = Q.currency;
            const A = pay.amount;
            const id = `t${seq++}`;
            // Payer processor: the customer pays the quoted total; the hub transfer is exactly A.
            let converted: { rate: Rate; mid: Rate; positionCredit: bigint; payerAmount: bigint } | undefined;
            let margin: { value: bigint; currency: string } | undefined;
            if (P.currency !== cur) {
              const m = mid(cur, P.currency);
              let q;
              try {
                q = quote(
                  {
                    amount: { value: A, currency: cur },
                    payerCurrency: P.currency,
                    rate: { base: cur, quote: P.currency, rate: m },
                    spreadBps: P.spreadBps,
                    feeFixed: { value: P.fee, currency: P.currency },
                    validForMs: 30_000,
                  },
                  0,
                );
              } catch {
                continue; // beyond the money ceiling: refused at quote time, nothing booked
              }
              const before = bal(pb, `customer:${P.currency}`);
              book(pb, `customer:${P.currency}`, `fx:${P.currency}`, q.legs.fxPositionCredit.value);
              book(pb, `customer:${P.currency}`, `fxmargin:${P.currency}`, q.legs.fxMarginCredit.value);
              book(pb, `customer:${P.currency}`, `fees:${P.currency}`, q.legs.feeCredit.value);
              book(pb, `fx:${cur}`, `settlement:${cur}`, A);
              expect(bal(pb, `customer:${P.currency}`) - before).toBe(q.total.value);
              converted = {
                rate: q.rate.rate,
                mid: m,
                positionCredit: q.legs.fxPositionCredit.value,
                payerAmount: q.payerAmount.value,
              };
              margin = { value: q.legs.fxMarginCredit.value, currency: P.currency };
            } else {
              book(pb, `customer:${cur}`, `settlement:${cur}`, A);
            }
            // Hub: the fees fixed at prepare; the transfer and the interchange move positions.
            const f = pay.purchase
              ? computeFees({ payee: '*', currency: '*', ...fee, mscFixed: fee.mscFixed.toString() }, A)
              : { msc: 0n, interchange: 0n };
            expect(f.msc).toBeLessThanOrEqual(A);
            expect(f.interchange).toBeLessThanOrEqual(f.msc);
            book(hub, `pos:${payer}:${cur}`, `pos:${payee}:${cur}`, A);
            book(hub, `pos:${payee}:${cur}`, `pos:${payer}:${cur}`, f.interchange);
            // Payee processor: merchant gets A − MSC; it pays the interchange out of the MSC.
            const merchantBefore = bal(qb, `merchant:${cur}`);
            book(qb, `settlement:${cur}`, `merchant:${cur}`, A - f.msc);
            book(qb, `settlement:${cur}`, `fees:${cur}`, f.msc);
            book(qb, `interchange:${cur}`, `settlement:${cur}`, f.interchange);
            expect(merchantBefore - bal(qb, `merchant:${cur}`)).toBe(A - f.msc);
            // Payer processor: the interchange it receives.
            book(pb, `settlement:${cur}`, `interchange:${cur}`, f.interchange);
            transfers.push({
              transferId: id,
              payer,
              payee,
              amount: A,
              currency: cur,
              msc: f.msc,
              interchange: f.interchange,
              ...(margin ? { fxMargin: margin } : {}),
              hasFees: f.msc > 0n,
              committedAt: seq,
            });
            // Refunds (no fees), converted back at the original customer rate on the running total.
            let refunded = 0n;
            let fxReversed = 0n;
            let credited = 0n;
            for (const share of pay.refund) {
              const R = ((A - refunded) * BigInt(share)) / 1000n;
              if (R <= 0n || bal(qb, `merchant:${cur}`) + R > 0n) continue; // merchant lacks the funds
              book(qb, `merchant:${cur}`, `settlement:${cur}`, R);
              book(hub, `pos:${payee}:${cur}`, `pos:${payer}:${cur}`, R);
              if (converted) {
                const rc = refundConversion(
                  {
                    amount: A,
                    targetCurrency: cur,
                    payerCurrency: P.currency,
                    rate: converted.rate,
                    mid: converted.mid,
                  },
                  refunded,
                  R,
                );
                book(pb, `settlement:${cur}`, `fx:${cur}`, R);
                book(pb, `fx:${P.currency}`, `customer:${P.currency}`, rc.fxReversal);
                book(pb, `fxmargin:${P.currency}`, `customer:${P.currency}`, rc.marginReversal);
                fxReversed += rc.fxReversal;
                credited += rc.customerCredit;
              } else {
                book(pb, `settlement:${cur}`, `customer:${cur}`, R);
              }
              transfers.push({
                transferId: `${id}r${refunded}`,
                payer: payee,
                payee: payer,
                amount: R,
                currency: cur,
                msc: 0n,
                interchange: 0n,
                hasFees: false,
                committedAt: seq,
              });
              refunded += R;
            }
            if (converted && refunded === A) {
              // A full refund closes the FX position exactly; the customer is short less than one minor unit
              // of the converted amount (plus the fee, which is not refunded).
              expect(fxReversed).toBe(converted.positionCredit);
              expect(converted.payerAmount - credited).toBeGreaterThanOrEqual(0n);
              expect(converted.payerAmount - credited).toBeLessThanOrEqual(1n);
            }
          }

          // Each processor's settlement account mirrors its hub position; the report's nets equal both.
          const lines = aggregate(transfers);
          expect(imbalances(lines).size).toBe(0);
          for (const l of lines) {
            const owes = bal(hub, `pos:${l.processorId}:${l.currency}`);
            expect(-bal(books.get(l.processorId)!, `settlement:${l.currency}`)).toBe(owes);
            expect(l.net).toBe(-owes);
          }
          // The instructions settle every net exactly, in at most (payers + receivers − 1) movements.
          const left = new Map(lines.map((l) => [`${l.currency} ${l.processorId}`, l.net]));
          const moves = instructions(lines);
          for (const m of moves) {
            expect(BigInt(m.amount)).toBeGreaterThan(0n);
            left.set(`${m.currency} ${m.from}`, left.get(`${m.currency} ${m.from}`)! + BigInt(m.amount));
            left.set(`${m.currency} ${m.to}`, left.get(`${m.currency} ${m.to}`)! - BigInt(m.amount));
          }
          for (const v of left.values()) expect(v).toBe(0n);
          const nonZero = lines.filter((l) => l.net !== 0n);
          for (const c of new Set(nonZero.map((l) => l.currency))) {
            const n = nonZero.filter((l) => l.currency === c).length;
            expect(moves.filter((m) => m.currency === c).length).toBeLessThanOrEqual(n - 1);
          }
          // Booking the settlement (hub: stl ↔ pos; processors: settlement ↔ nostro) brings everything to 0.
          for (const l of lines) {
            // A receiver (net > 0) is paid into its liquidity (liq → stl at the hub, nostro → settlement at home); a
            // payer's net is paid out of its liquidity (the reverse). Positions stay as posted.
            book(hub, `liq:${l.processorId}:${l.currency}`, `stl:${l.processorId}:${l.currency}`, l.net);
            book(books.get(l.processorId)!, `nostro:${l.currency}`, `settlement:${l.currency}`, l.net);
          }
          for (const l of lines) {
            // position = liquidity − posted: back to zero.
            expect(
              bal(hub, `liq:${l.processorId}:${l.currency}`) + bal(hub, `pos:${l.processorId}:${l.currency}`),
            ).toBe(0n);
            expect(bal(books.get(l.processorId)!, `settlement:${l.currency}`)).toBe(0n);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
