import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  applySpread,
  assertQuoteValid,
  convert,
  exactConversion,
  formatRate,
  FxQuoteExpiredError,
  invertRate,
  isQuoteValid,
  legSums,
  makeRate,
  parseRate,
  quote,
  rateFor,
  refundConversion,
  requote,
  splitFee,
  type FxQuoteRequest,
  type FxRate,
  type Rate,
} from './fx.js';
import { MAX_MINOR_UNITS } from './money.js';

const CURRENCIES = ['EUR', 'HUF', 'JPY', 'BHD', 'KWD', 'ISK', 'GBP'] as const;
const NOW = 1_800_000_000_000;

const arbRate: fc.Arbitrary<Rate> = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 12n }))
  .map(([n, d]) => makeRate(n, d));

const arbPair = fc
  .tuple(fc.constantFrom(...CURRENCIES), fc.constantFrom(...CURRENCIES))
  .filter(([a, b]) => a !== b);

const arbAmount = fc.oneof(
  fc.bigInt({ min: 1n, max: 1000n }),
  fc.bigInt({ min: MAX_MINOR_UNITS - 1000n, max: 9n * 10n ** 18n }),
  fc.bigInt({ min: 1n, max: 10n ** 12n }),
  fc.bigInt({ min: 1n, max: MAX_MINOR_UNITS }),
);

const eurHuf: FxRate = { base: 'EUR', quote: 'HUF', rate: parseRate('392.45') };

function req(over: Partial<FxQuoteRequest> = {}): FxQuoteRequest {
  return {
    amount: { value: 1000n, currency: 'EUR' },
    payerCurrency: 'HUF',
    rate: eurHuf,
    spreadBps: 50,
    feeFixed: { value: 10000n, currency: 'HUF' },
    validForMs: 30_000,
    ...over,
  };
}

describe('fx rates', () => {
  it('parses exact decimals into reduced rationals', () => {
    expect(parseRate('392.45')).toEqual({ num: 7849n, den: 20n });
    expect(parseRate('1')).toEqual({ num: 1n, den: 1n });
    expect(parseRate('0.00254')).toEqual({ num: 127n, den: 50000n });
    expect(parseRate(' 1.50 ')).toEqual({ num: 3n, den: 2n });
    expect(parseRate('000160.000')).toEqual({ num: 160n, den: 1n });
  });

  it('refuses garbage, zero, negative and non-decimal rates', () => {
    const bad = [
      '',
      ' ',
      '0',
      '0.0',
      '000.000',
      '-1',
      '+1',
      '-0.5',
      '1e3',
      '1E-2',
      'abc',
      'NaN',
      'Infinity',
      '1.2.3',
      '1,5',
      '.5',
      '5.',
      '1 000',
      '0x10',
      '1234567890123456789',
      '1.1234567890123456789',
    ];
    for (const b of bad) expect(() => parseRate(b), b).toThrow(RangeError);
    expect(() => makeRate(0n, 1n)).toThrow(RangeError);
    expect(() => makeRate(1n, 0n)).toThrow(RangeError);
    expect(() => makeRate(-1n, 2n)).toThrow(RangeError);
  });

  it('rejects arbitrary non-numeric text (property)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^\s*\d{1,18}(\.\d{1,18})?\s*$/.test(s)),
        (s) => {
          expect(() => parseRate(s)).toThrow(RangeError);
        },
      ),
    );
  });

  it('parses every decimal it formats back to the same rational (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }), fc.integer({ min: 0, max: 18 }), (n, d) => {
        const r = makeRate(n, 10n ** BigInt(d));
        expect(parseRate(formatRate(r, d))).toEqual(r);
      }),
    );
  });

  it('inverts and picks the direction explicitly', () => {
    const r = parseRate('392.45');
    expect(invertRate(invertRate(r))).toEqual(r);
    expect(rateFor(eurHuf, 'EUR', 'HUF')).toEqual(r);
    expect(rateFor(eurHuf, 'HUF', 'EUR')).toEqual({ num: 20n, den: 7849n });
    expect(() => rateFor(eurHuf, 'EUR', 'JPY')).toThrow(/does not convert/);
    expect(formatRate(r, 2)).toBe('392.45');
    expect(formatRate(parseRate('0.0000005'), 6)).toBe('0.000001');
    expect(formatRate(r, 0)).toBe('392');
  });

  it('converts with each currency exponent (EUR 2, HUF 2, JPY 0, BHD 3)', () => {
    const r = parseRate('392.45');
    expect(convert(1000n, 'EUR', 'HUF', r, 'up')).toBe(392450n); // 10.00 EUR = 3924.50 HUF
    expect(convert(1n, 'EUR', 'HUF', r, 'up')).toBe(393n); // 0.01 EUR = 3.9245 HUF → 3.93
    expect(convert(1n, 'EUR', 'HUF', r, 'down')).toBe(392n);
    const eurJpy = parseRate('161.23');
    expect(convert(1000n, 'EUR', 'JPY', eurJpy, 'up')).toBe(1613n); // 10.00 EUR = 1612.3 JPY → 1613
    expect(convert(1613n, 'JPY', 'EUR', invertRate(eurJpy), 'down')).toBe(1000n);
    const eurBhd = parseRate('0.4105');
    expect(convert(1000n, 'EUR', 'BHD', eurBhd, 'up')).toBe(4105n); // 10.00 EUR = 4.105 BHD
    expect(convert(1n, 'BHD', 'JPY', parseRate('392.8'), 'up')).toBe(1n); // 0.001 BHD = 0.3928 JPY → 1
    expect(convert(1n, 'BHD', 'JPY', parseRate('392.8'), 'down')).toBe(0n);
  });

  it('round-trips: converting up then back down at the same rate never loses the original (property)', () => {
    fc.assert(
      fc.property(arbAmount, arbPair, arbRate, (a, [from, to], r) => {
        const there = convert(a, from, to, r, 'up');
        const back = convert(there, to, from, invertRate(r), 'down');
        expect(back >= a).toBe(true);
        const { num, den } = exactConversion(1n, from, to, r);
        if (num >= den) expect(back).toBe(a); // one target unit per source unit or more: exact round trip
      }),
    );
  });
});

describe('fx quotes', () => {
  it('quotes a HUF payer for an EUR merchant, fee and legs explicit', () => {
    const q = quote(req(), NOW);
    // customer rate = 392.45 × 1.005 = 394.41225; 10.00 EUR → 3944.1225 HUF → rounded up 3944.13 HUF
    expect(q.rate).toEqual({ base: 'EUR', quote: 'HUF', rate: makeRate(39441225n, 100000n) });
    expect(q.rateShown).toBe('1 EUR = 394.412250 HUF');
    expect(q.payerAmount).toEqual({ value: 394413n, currency: 'HUF' });
    expect(q.fee).toEqual({ value: 10000n, currency: 'HUF' });
    expect(q.total).toEqual({ value: 404413n, currency: 'HUF' });
    expect(q.rounding).toBe('up');
    expect(q.expiresAt).toBe(NOW + 30_000);
    expect(q.legs).toEqual({
      customerDebit: { value: 404413n, currency: 'HUF' },
      fxPositionCredit: { value: 392450n, currency: 'HUF' },
      fxMarginCredit: { value: 1963n, currency: 'HUF' },
      feeCredit: { value: 10000n, currency: 'HUF' },
      fxPositionDebit: { value: 1000n, currency: 'EUR' },
      hubTransfer: { value: 1000n, currency: 'EUR' },
    });
    expect(legSums(q.legs)).toEqual({ HUF: 0n, EUR: 0n });
  });

  it('accepts the rate in either direction with the same result', () => {
    const inverse: FxRate = { base: 'HUF', quote: 'EUR', rate: invertRate(eurHuf.rate) };
    const a = quote(req(), NOW);
    const b = quote(req({ rate: inverse }), NOW);
    expect(b.total).toEqual(a.total);
    expect(b.legs).toEqual(a.legs);
  });

  it('handles JPY and BHD exponents', () => {
    const q = quote(
      req({
        amount: { value: 1n, currency: 'BHD' },
        payerCurrency: 'JPY',
        rate: { base: 'BHD', quote: 'JPY', rate: parseRate('392.8') },
        spreadBps: 0,
        feeFixed: undefined,
      }),
      NOW,
    );
    expect(q.payerAmount).toEqual({ value: 1n, currency: 'JPY' }); // 0.3928 JPY → 1 JPY
    expect(q.legs.fxPositionCredit.value).toBe(0n);
    expect(q.legs.fxMarginCredit.value).toBe(1n);
    expect(legSums(q.legs)).toEqual({ JPY: 0n, BHD: 0n });
  });

  it('refuses bad requests', () => {
    expect(() => quote(req({ payerCurrency: 'EUR' }), NOW)).toThrow(/no conversion/);
    expect(() => quote(req({ payerCurrency: 'XXX' }), NOW)).toThrow(/unknown currency/);
    expect(() => quote(req({ amount: { value: 0n, currency: 'EUR' } }), NOW)).toThrow(/positive/);
    expect(() => quote(req({ amount: { value: -5n, currency: 'EUR' } }), NOW)).toThrow(/positive/);
    expect(() => quote(req({ feeFixed: { value: 1n, currency: 'EUR' } }), NOW)).toThrow(/fee must be in HUF/);
    expect(() => quote(req({ feeFixed: { value: -1n, currency: 'HUF' } }), NOW)).toThrow(/negative/);
    for (const s of [-1, 10_000, 1.5, Number.NaN]) {
      expect(() => quote(req({ spreadBps: s }), NOW)).toThrow(/spread/);
    }
    expect(() => quote(req({ validForMs: 0 }), NOW)).toThrow(/validForMs/);
    expect(() => quote(req({ rate: { ...eurHuf, quote: 'JPY' } }), NOW)).toThrow(/does not convert/);
    expect(() => quote(req({ amount: { value: MAX_MINOR_UNITS, currency: 'EUR' } }), NOW)).toThrow(
      /too large/,
    );
    expect(() => applySpread(parseRate('1'), 0.5)).toThrow(RangeError);
  });

  it('never creates or loses a minor unit: legs sum to zero per currency, payer pays < 1 unit over exact (property)', () => {
    fc.assert(
      fc.property(
        arbAmount,
        arbPair,
        arbRate,
        fc.boolean(),
        fc.integer({ min: 0, max: 9999 }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        (a, [target, payer], r, baseIsTarget, spreadBps, fee) => {
          const rate: FxRate = baseIsTarget
            ? { base: target, quote: payer, rate: r }
            : { base: payer, quote: target, rate: r };
          const request = req({
            amount: { value: a, currency: target },
            payerCurrency: payer,
            rate,
            spreadBps,
            feeFixed: { value: fee, currency: payer },
          });
          const mid = baseIsTarget ? r : invertRate(r);
          const exact = exactConversion(a, target, payer, applySpread(mid, spreadBps));
          const up = (exact.num + exact.den - 1n) / exact.den;
          if (a > MAX_MINOR_UNITS || up + fee > MAX_MINOR_UNITS) {
            expect(() => quote(request, NOW)).toThrow(/too large/);
            return;
          }
          const q = quote(request, NOW);
          const p = q.payerAmount.value;
          // exact ≤ payerAmount < exact + 1 minor unit
          expect(p * exact.den >= exact.num).toBe(true);
          expect((p - 1n) * exact.den < exact.num).toBe(true);
          expect(q.total.value).toBe(p + fee);
          expect(q.legs.hubTransfer).toEqual({ value: a, currency: target });
          expect(q.legs.fxMarginCredit.value >= 0n).toBe(true);
          expect(q.legs.fxPositionCredit.value >= 0n).toBe(true);
          expect(legSums(q.legs)).toEqual({ [payer]: 0n, [target]: 0n });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('handles tiny and huge amounts exactly', () => {
    const tiny = quote(req({ amount: { value: 1n, currency: 'EUR' }, feeFixed: undefined }), NOW);
    expect(tiny.payerAmount.value).toBe(395n); // 3.9441225 HUF → 3.95
    const jpy: FxRate = { base: 'JPY', quote: 'EUR', rate: parseRate('0.0062') };
    const huge = quote(
      req({
        amount: { value: MAX_MINOR_UNITS, currency: 'JPY' },
        payerCurrency: 'EUR',
        rate: jpy,
        spreadBps: 0,
        feeFixed: undefined,
      }),
      NOW,
    );
    // MAX_MINOR_UNITS = 9e18 JPY × 0.0062 = 5.58e16 EUR = 5.58e18 cents, exact
    expect(huge.payerAmount.value).toBe(5_580_000_000_000_000_000n);
    // convert itself has no ceiling: 9e18 EUR cents at 392.45 HUF, exact to the unit
    expect(convert(9n * 10n ** 18n, 'EUR', 'HUF', parseRate('392.45'), 'up')).toBe(
      3_532_050_000_000_000_000_000n,
    );
    expect(convert(9n * 10n ** 18n + 1n, 'EUR', 'JPY', parseRate('161.23'), 'down')).toBe(
      14_510_700_000_000_000_001n,
    );
    expect(legSums(huge.legs)).toEqual({ EUR: 0n, JPY: 0n });
  });

  it('expires: valid until expiresAt, then refused and re-quoted, never silently applied', () => {
    const q = quote(req(), NOW);
    expect(isQuoteValid(q, NOW)).toBe(true);
    expect(isQuoteValid(q, NOW + 29_999)).toBe(true);
    expect(isQuoteValid(q, NOW + 30_000)).toBe(false);
    expect(isQuoteValid(q, NOW - 1)).toBe(false);
    expect(assertQuoteValid(q, NOW + 1)).toBe(q);
    expect(() => assertQuoteValid(q, NOW + 30_000)).toThrow(FxQuoteExpiredError);

    const same = requote(q, NOW + 60_000);
    expect(same.changed).toBe(false);
    expect(same.quote.expiresAt).toBe(NOW + 90_000);
    expect(isQuoteValid(same.quote, NOW + 60_000)).toBe(true);

    const moved = requote(q, NOW + 60_000, { base: 'EUR', quote: 'HUF', rate: parseRate('395.10') });
    expect(moved.changed).toBe(true);
    expect(moved.quote.total.value > q.total.value).toBe(true);
    expect(moved.quote.request.amount).toEqual(q.request.amount);
  });
});

describe('splitFee', () => {
  it('splits by basis points with largest remainders and key-order ties', () => {
    expect(splitFee(100n, { payee: 5000, payer: 3000, hub: 2000 })).toEqual({
      payee: 50n,
      payer: 30n,
      hub: 20n,
    });
    expect(splitFee(1n, { a: 5000, b: 5000 })).toEqual({ a: 1n, b: 0n });
    expect(splitFee(1n, { b: 5000, a: 5000 })).toEqual({ b: 1n, a: 0n });
    expect(splitFee(2n, { a: 3334, b: 3333, c: 3333 })).toEqual({ a: 1n, b: 1n, c: 0n });
    expect(splitFee(10n, { a: 3333, b: 3333, c: 3334 })).toEqual({ a: 3n, b: 3n, c: 4n });
    expect(splitFee(0n, { a: 10000 })).toEqual({ a: 0n });
    expect(splitFee(-1n, { a: 5000, b: 5000 })).toEqual({ a: -1n, b: 0n });
  });

  it('refuses shares that do not sum to 10000 bps', () => {
    expect(() => splitFee(1n, {})).toThrow(/no parts/);
    expect(() => splitFee(1n, { a: 5000 })).toThrow(/10000/);
    expect(() => splitFee(1n, { a: 5000, b: 5001 })).toThrow(/10000/);
    expect(() => splitFee(1n, { a: -1, b: 10001 })).toThrow(/bad share/);
    expect(() => splitFee(1n, { a: 0.5, b: 9999.5 })).toThrow(/bad share/);
  });

  it('parts always sum exactly to the total, each within one unit of its exact share (property)', () => {
    const arbShares = fc
      .array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 8 })
      .map((xs) => {
        // normalise to exactly 10000 bps: cut points on [0, 10000]
        const cuts = [...new Set(xs.map((x) => x % 10_001))].sort((a, b) => a - b);
        const bounds = [0, ...cuts.filter((c) => c > 0 && c < 10_000), 10_000];
        const shares: Record<string, number> = {};
        for (let i = 1; i < bounds.length; i++) shares[`p${i}`] = (bounds[i] ?? 0) - (bounds[i - 1] ?? 0);
        return shares;
      });
    fc.assert(
      fc.property(fc.bigInt({ min: -MAX_MINOR_UNITS, max: MAX_MINOR_UNITS }), arbShares, (total, shares) => {
        const out = splitFee(total, shares);
        expect(Object.keys(out)).toEqual(Object.keys(shares));
        const sum = Object.values(out).reduce((a, b) => a + b, 0n);
        expect(sum).toBe(total);
        for (const [k, bps] of Object.entries(shares)) {
          const part = out[k] ?? 0n;
          // |part − total × bps / 10000| < 1  ⇔  |part × 10000 − total × bps| < 10000
          const diff = part * 10_000n - total * BigInt(bps);
          expect(diff < 10_000n && diff > -10_000n).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('splits a converted fee and keeps the network whole (property)', () => {
    fc.assert(
      fc.property(arbAmount, fc.integer({ min: 0, max: 10_000 }), (fee, interchangeBps) => {
        const parts = splitFee(fee, { payeeMsc: 10_000 - interchangeBps, payerInterchange: interchangeBps });
        expect((parts.payeeMsc ?? 0n) + (parts.payerInterchange ?? 0n)).toBe(fee);
      }),
    );
  });
});

describe('refundConversion (refund of a converted payment)', () => {
  const paid = quote(req(), NOW); // 10.00 EUR paid with 4044.13 HUF (3944.13 converted + 100.00 fee)
  const original = {
    amount: 1000n,
    targetCurrency: 'EUR',
    payerCurrency: 'HUF',
    rate: paid.rate.rate,
    mid: eurHuf.rate,
  };

  it('refunds at the original customer rate, rounded down; the fee stays', () => {
    const r = refundConversion(original, 0n, 1000n);
    // 10.00 EUR × 394.41225 = 3944.1225 HUF → 3944.12 HUF back (the customer paid 3944.13 for it)
    expect(r).toEqual({ customerCredit: 394412n, fxReversal: 392450n, marginReversal: 1962n });
    expect(r.fxReversal).toBe(paid.legs.fxPositionCredit.value);
    expect(r.marginReversal).toBeLessThanOrEqual(paid.legs.fxMarginCredit.value);
  });

  it('adds partial refunds up to exactly the full refund', () => {
    const a = refundConversion(original, 0n, 333n);
    const b = refundConversion(original, 333n, 333n);
    const c = refundConversion(original, 666n, 334n);
    const full = refundConversion(original, 0n, 1000n);
    expect(a.customerCredit + b.customerCredit + c.customerCredit).toBe(full.customerCredit);
    expect(a.fxReversal + b.fxReversal + c.fxReversal).toBe(full.fxReversal);
  });

  it('refuses refunds beyond the payment and non-positive refunds', () => {
    expect(() => refundConversion(original, 900n, 101n)).toThrow(/exceed/);
    expect(() => refundConversion(original, 0n, 0n)).toThrow(/positive/);
    expect(() => refundConversion(original, -1n, 1n)).toThrow(/negative/);
  });

  it('never pays back more than was charged and, in total, reverses the FX position exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        arbPair,
        arbRate,
        fc.integer({ min: 0, max: 9999 }),
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 }),
        (amount, [target, payer], mid, spreadBps, weights) => {
          const request = req({
            amount: { value: amount, currency: target },
            payerCurrency: payer,
            rate: { base: target, quote: payer, rate: mid },
            spreadBps,
            feeFixed: { value: 0n, currency: payer },
          });
          // Only payments that can be quoted at all (the converted total fits the money ceiling).
          fc.pre(convert(amount, target, payer, applySpread(mid, spreadBps), 'up') <= MAX_MINOR_UNITS);
          const q = quote(request, NOW);
          const p = { amount, targetCurrency: target, payerCurrency: payer, rate: q.rate.rate, mid };
          // Split the amount into partial refunds by the weights (the last one takes the rest).
          const sum = BigInt(weights.reduce((s, w) => s + w, 0));
          const parts: bigint[] = [];
          let left = amount;
          for (const [i, w] of weights.entries()) {
            const part = i === weights.length - 1 ? left : (amount * BigInt(w)) / sum;
            if (part > 0n) parts.push(part);
            left -= part;
          }
          let before = 0n;
          let credited = 0n;
          let fx = 0n;
          let margin = 0n;
          for (const part of parts) {
            const r = refundConversion(p, before, part);
            expect(r.customerCredit).toBeGreaterThanOrEqual(0n);
            expect(r.customerCredit - r.fxReversal - r.marginReversal).toBe(0n); // balanced per refund
            before += part;
            credited += r.customerCredit;
            fx += r.fxReversal;
            margin += r.marginReversal;
          }
          expect(before).toBe(amount);
          expect(credited).toBeLessThanOrEqual(q.payerAmount.value); // never more than charged
          expect(q.payerAmount.value - credited).toBeLessThanOrEqual(1n); // less than one unit kept
          expect(fx).toBe(q.legs.fxPositionCredit.value); // position closed exactly
          expect(margin).toBeGreaterThanOrEqual(0n);
          expect(margin).toBeLessThanOrEqual(q.legs.fxMarginCredit.value);
        },
      ),
      { numRuns: 500 },
    );
  });
});
