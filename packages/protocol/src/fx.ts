/**
 * Exact foreign-exchange and fee arithmetic for cross-border payments (issue 5): rates as reduced rationals,
 * quotes whose rounding never creates or loses a minor unit, the ledger legs a converting processor books,
 * and a fee split that always sums to the total. Pure functions over bigint; no floating point anywhere.
 * See docs/settlement.md for the model and a worked example.
 */
import { SemopsError } from './errors.js';
import { currencyInfo, MAX_MINOR_UNITS, type Money } from './money.js';

/** An exact positive rational `num / den`, always reduced (gcd 1) with `den > 0`. */
export interface Rate {
  readonly num: bigint;
  readonly den: bigint;
}

/**
 * A rate with an explicit direction: 1 unit (major) of `base` = `rate` units (major) of `quote`.
 * @example { base: 'EUR', quote: 'HUF', rate: parseRate('392.45') } // 1 EUR = 392.45 HUF
 */
export interface FxRate {
  readonly base: string;
  readonly quote: string;
  readonly rate: Rate;
}

const BPS = 10_000n;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** Floor division for any signs (bigint `/` truncates toward zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Ceiling division for any signs. */
function ceilDiv(a: bigint, b: bigint): bigint {
  return -floorDiv(-a, b);
}

function exponentOf(currency: string): number {
  const info = currencyInfo(currency);
  if (!info) throw new RangeError(`unknown currency ${currency}`);
  return info.exponent;
}

/** Builds a reduced rate from a numerator and denominator; both must be positive. */
export function makeRate(num: bigint, den: bigint): Rate {
  if (num <= 0n || den <= 0n) throw new RangeError(`a rate must be positive: ${num}/${den}`);
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

/**
 * Parses an exact decimal rate such as `'392.45'` or `'0.00254'` into a reduced rational.
 * Accepts only plain digits with an optional `.` fraction (up to 18 digits each side); refuses zero, signs,
 * exponents, commas, spaces inside, `NaN`, `Infinity` and everything else with a RangeError.
 * @example parseRate('392.45') // { num: 7849n, den: 20n }
 */
export function parseRate(text: string): Rate {
  const m = /^(\d{1,18})(?:\.(\d{1,18}))?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a rate: ${JSON.stringify(text)}`);
  const whole = m[1] ?? '0';
  const frac = m[2] ?? '';
  const num = BigInt(whole + frac);
  if (num === 0n) throw new RangeError(`a rate must be positive: ${text}`);
  return makeRate(num, 10n ** BigInt(frac.length));
}

/** The inverse rate (1 / r). */
export function invertRate(r: Rate): Rate {
  return makeRate(r.den, r.num);
}

/** Compares two rates: -1, 0 or 1. */
export function compareRates(a: Rate, b: Rate): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/**
 * Formats a rate for display with `decimals` fraction digits, rounded half up. Display only: every amount is
 * computed from the exact rational, never from this text.
 */
export function formatRate(r: Rate, decimals = 6): string {
  if (!Number.isSafeInteger(decimals) || decimals < 0 || decimals > 30) {
    throw new RangeError(`bad decimals ${decimals}`);
  }
  const scale = 10n ** BigInt(decimals);
  const scaled = floorDiv(2n * r.num * scale + r.den, 2n * r.den);
  const digits = scaled.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  return decimals > 0 ? `${whole}.${frac}` : whole;
}

/**
 * The rate in the direction `from → to` (1 major `from` = result major `to`), inverting if needed.
 * Throws when the rate is for another currency pair.
 */
export function rateFor(fx: FxRate, from: string, to: string): Rate {
  if (fx.base === from && fx.quote === to) return fx.rate;
  if (fx.base === to && fx.quote === from) return invertRate(fx.rate);
  throw new RangeError(`rate ${fx.base}/${fx.quote} does not convert ${from} to ${to}`);
}

/**
 * The exact value of `amount` (minor units of `from`) in minor units of `to`, as a rational
 * `{ num, den }` (not reduced, den > 0), where `rate` means 1 major `from` = rate major `to`:
 * `amount × rate × 10^exp(to) / 10^exp(from)`.
 */
export function exactConversion(
  amount: bigint,
  from: string,
  to: string,
  rate: Rate,
): { num: bigint; den: bigint } {
  const ef = BigInt(exponentOf(from));
  const et = BigInt(exponentOf(to));
  return { num: amount * rate.num * 10n ** et, den: rate.den * 10n ** ef };
}

/**
 * Converts `amount` minor units of `from` to minor units of `to` and rounds to a whole minor unit in the
 * given direction (`'up'` = toward +∞, `'down'` = toward −∞). No limit on size: bigint does not overflow.
 * @example convert(1000n, 'EUR', 'HUF', parseRate('392.45'), 'up') // 392450n (10.00 EUR = 3924.50 HUF)
 */
export function convert(
  amount: bigint,
  from: string,
  to: string,
  rate: Rate,
  rounding: 'up' | 'down',
): bigint {
  const { num, den } = exactConversion(amount, from, to, rate);
  return rounding === 'up' ? ceilDiv(num, den) : floorDiv(num, den);
}

/** Rate `r` with a spread of `spreadBps` basis points added: r × (10000 + spread) / 10000. */
export function applySpread(r: Rate, spreadBps: number): Rate {
  if (!Number.isSafeInteger(spreadBps) || spreadBps < 0 || spreadBps >= 10_000) {
    throw new RangeError(`spread must be an integer 0..9999 bps: ${spreadBps}`);
  }
  return makeRate(r.num * (BPS + BigInt(spreadBps)), r.den * BPS);
}

/** What a converting (payer) processor needs to quote a cross-currency payment. */
export interface FxQuoteRequest {
  /** What the merchant must receive, in the merchant's (target) currency; > 0. */
  readonly amount: Money;
  /** The currency the payer's account is held in. */
  readonly payerCurrency: string;
  /** The mid (reference) rate for the pair, in either direction; `quote` inverts as needed. */
  readonly rate: FxRate;
  /** The converting processor's spread over the mid rate, integer basis points 0..9999. */
  readonly spreadBps: number;
  /** A fixed fee in the payer's currency, shown separately (default 0). */
  readonly feeFixed?: Money;
  /** How long the quote holds, in ms (> 0). */
  readonly validForMs: number;
}

/**
 * The four movements the converting processor books, all positive amounts (sides documented per field).
 * In the payer currency: debit customer = credit FX position + credit FX margin + credit fee income.
 * In the target currency: debit FX position = credit settlement (the transfer to the hub).
 */
export interface FxLegs {
  /** Debit the customer's account (payer currency): `total`. */
  readonly customerDebit: Money;
  /** Credit the FX position account in the payer currency: the mid-rate cost, rounded down. */
  readonly fxPositionCredit: Money;
  /** Credit the FX margin account (payer currency): spread plus every sub-minor-unit remainder. */
  readonly fxMarginCredit: Money;
  /** Credit the fee income account (payer currency): the fixed fee. */
  readonly feeCredit: Money;
  /** Debit the FX position account in the target currency: the merchant's amount. */
  readonly fxPositionDebit: Money;
  /** Credit `settlement:<target>` — the transfer to the hub in the merchant's currency. */
  readonly hubTransfer: Money;
}

/** A fixed quote shown to the payer before the PIN. */
export interface FxQuote {
  readonly request: FxQuoteRequest;
  /** The converted amount in the payer's currency, rounded UP to a minor unit (spread included). */
  readonly payerAmount: Money;
  /** The fee in the payer's currency. */
  readonly fee: Money;
  /** payerAmount + fee: what the customer is debited. */
  readonly total: Money;
  /** The customer rate, exact: 1 major target = rate major payer (mid rate with spread). */
  readonly rate: FxRate;
  /** The customer rate as shown, e.g. `'1 EUR = 394.412250 HUF'` (display only, 6 decimals half up). */
  readonly rateShown: string;
  readonly quotedAt: number;
  readonly expiresAt: number;
  readonly rounding: 'up';
  readonly legs: FxLegs;
}

/**
 * Quotes a cross-currency payment. The merchant always receives exactly `amount`; the payer's converted
 * amount is rounded UP to the payer's minor unit, so the payer never pays less than the exact value at the
 * customer rate and at most one minor unit (exclusive) more. The FX position account in the payer currency
 * is credited with the mid-rate cost rounded DOWN; the difference (spread + rounding remainders) is the
 * converting processor's FX margin. Each currency's legs sum to zero. Throws RangeError on unknown or equal
 * currencies, a non-positive amount, a fee in the wrong currency or negative, a bad spread or validity, a
 * rate for another pair, or a total above MAX_MINOR_UNITS.
 */
export function quote(req: FxQuoteRequest, now: number): FxQuote {
  const target = req.amount.currency;
  const payer = req.payerCurrency;
  exponentOf(target);
  exponentOf(payer);
  if (target === payer) throw new RangeError(`no conversion needed: both sides are ${payer}`);
  if (req.amount.value <= 0n) throw new RangeError('the amount must be positive');
  if (req.amount.value > MAX_MINOR_UNITS) throw new RangeError('the amount is too large');
  if (!Number.isSafeInteger(req.validForMs) || req.validForMs <= 0) {
    throw new RangeError(`validForMs must be a positive integer: ${req.validForMs}`);
  }
  if (!Number.isSafeInteger(now)) throw new RangeError(`now must be integer ms: ${now}`);
  const feeValue = req.feeFixed?.value ?? 0n;
  if (req.feeFixed && req.feeFixed.currency !== payer) {
    throw new RangeError(`the fee must be in ${payer}, not ${req.feeFixed.currency}`);
  }
  if (feeValue < 0n) throw new RangeError('the fee must not be negative');

  const mid = rateFor(req.rate, target, payer);
  const customerRate = applySpread(mid, req.spreadBps);
  const payerAmount = convert(req.amount.value, target, payer, customerRate, 'up');
  const midCost = convert(req.amount.value, target, payer, mid, 'down');
  const total = payerAmount + feeValue;
  if (total > MAX_MINOR_UNITS) throw new RangeError('the converted total is too large');

  const m = (value: bigint, currency: string): Money => ({ value, currency });
  return {
    request: req,
    payerAmount: m(payerAmount, payer),
    fee: m(feeValue, payer),
    total: m(total, payer),
    rate: { base: target, quote: payer, rate: customerRate },
    rateShown: `1 ${target} = ${formatRate(customerRate, 6)} ${payer}`,
    quotedAt: now,
    expiresAt: now + req.validForMs,
    rounding: 'up',
    legs: {
      customerDebit: m(total, payer),
      fxPositionCredit: m(midCost, payer),
      fxMarginCredit: m(payerAmount - midCost, payer),
      feeCredit: m(feeValue, payer),
      fxPositionDebit: m(req.amount.value, target),
      hubTransfer: m(req.amount.value, target),
    },
  };
}

/** A quote holds from `quotedAt` until just before `expiresAt`. */
export function isQuoteValid(q: FxQuote, now: number): boolean {
  return now >= q.quotedAt && now < q.expiresAt;
}

/** Thrown when an expired quote would be applied. */
export class FxQuoteExpiredError extends SemopsError {
  constructor(readonly expiresAt: number) {
    super('QUOTE_EXPIRED', undefined, { expiresAt });
    this.name = 'FxQuoteExpiredError';
  }
}

/** Returns the quote if it is still valid at `now`; throws FxQuoteExpiredError otherwise. Never re-prices. */
export function assertQuoteValid(q: FxQuote, now: number): FxQuote {
  if (!isQuoteValid(q, now)) throw new FxQuoteExpiredError(q.expiresAt);
  return q;
}

/**
 * A fresh quote for the same payment at `now`, with the current `rate` (default: the original mid rate) —
 * what the payer processor shows again after expiry. `changed` says whether the customer would pay a
 * different total, in which case the customer must confirm again before the PIN.
 */
export function requote(q: FxQuote, now: number, rate?: FxRate): { quote: FxQuote; changed: boolean } {
  const next = quote({ ...q.request, rate: rate ?? q.request.rate }, now);
  return { quote: next, changed: next.total.value !== q.total.value };
}

/**
 * Splits `total` minor units into parts by basis points (which must sum to exactly 10000) with the
 * largest-remainder method: each part gets the floor of its exact share, then the minor units left over go
 * one each to the parts with the largest remainders; equal remainders are broken by key order
 * (`Object.keys` order). The parts always sum exactly to `total` and each is within one minor unit of its
 * exact share. A negative total (a reversal) is split as the negation of the split of `-total`.
 * @example splitFee(100n, { payee: 5000, payer: 3000, hub: 2000 }) // { payee: 50n, payer: 30n, hub: 20n }
 */
export function splitFee(total: bigint, parts: Readonly<Record<string, number>>): Record<string, bigint> {
  const keys = Object.keys(parts);
  if (keys.length === 0) throw new RangeError('no parts to split into');
  let sum = 0n;
  const bps = keys.map((k) => {
    const b = parts[k];
    if (b === undefined || !Number.isSafeInteger(b) || b < 0)
      throw new RangeError(`bad share for ${k}: ${b}`);
    sum += BigInt(b);
    return BigInt(b);
  });
  if (sum !== BPS) throw new RangeError(`shares must sum to 10000 bps, got ${sum}`);
  const neg = total < 0n;
  const t = neg ? -total : total;
  const floors = bps.map((b) => (t * b) / BPS);
  const rems = bps.map((b) => (t * b) % BPS);
  let left = t - floors.reduce((a, b) => a + b, 0n);
  const order = keys
    .map((_, i) => i)
    .sort((a, b) => {
      const ra = rems[a] ?? 0n;
      const rb = rems[b] ?? 0n;
      return ra > rb ? -1 : ra < rb ? 1 : a - b;
    });
  for (const i of order) {
    if (left === 0n) break;
    floors[i] = (floors[i] ?? 0n) + 1n;
    left -= 1n;
  }
  const out: Record<string, bigint> = {};
  keys.forEach((k, i) => {
    const v = floors[i] ?? 0n;
    out[k] = neg ? -v : v;
  });
  return out;
}

/** Signed per-currency sums of the legs (debits +, credits −); every value is 0n for a balanced quote. */
export function legSums(legs: FxLegs): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  const add = (m: Money, sign: bigint): void => {
    out[m.currency] = (out[m.currency] ?? 0n) + sign * m.value;
  };
  add(legs.customerDebit, 1n);
  add(legs.fxPositionCredit, -1n);
  add(legs.fxMarginCredit, -1n);
  add(legs.feeCredit, -1n);
  add(legs.fxPositionDebit, 1n);
  add(legs.hubTransfer, -1n);
  return out;
}

/** The conversion of a paid cross-currency payment, as the payer processor recorded it. */
export interface ConvertedPayment {
  /** What the merchant received, in minor units of `targetCurrency`. */
  readonly amount: bigint;
  readonly targetCurrency: string;
  readonly payerCurrency: string;
  /** The customer rate of the quote: 1 major target = `rate` major payer (spread included). */
  readonly rate: Rate;
  /** The mid rate of the quote, same direction. */
  readonly mid: Rate;
}

/** How a refund of a converted payment is booked back in the payer's currency (all minor units). */
export interface RefundConversion {
  /** Credited to the customer: at the original customer rate, rounded down. */
  readonly customerCredit: bigint;
  /** Debited from the FX position in the payer currency: the mid-rate share, rounded down. */
  readonly fxReversal: bigint;
  /**
   * Debited from the FX margin: `customerCredit − fxReversal`, the spread given back. Over a full refund it is
   * at least 0 and at most the margin taken; a single partial refund may show −1 (a credit) from rounding.
   */
  readonly marginReversal: bigint;
}

/**
 * A refund of `refund` minor units (target currency) of a converted payment, after `refundedBefore` was
 * already refunded. The rule: the customer gets the refunded part back **at the original quote's customer
 * rate, rounded down** — never at today's rate, so neither side carries the rate movement of the days between,
 * and never more than was charged for that part; the fixed fee is not refunded. Rounding is applied to the
 * running total (cumulative floors), so any sequence of partial refunds adds up to exactly the full refund,
 * and a full refund reverses the FX position exactly (`fxReversal` sums to the original position credit).
 * Throws RangeError when the refunds would exceed the amount or an amount is not positive.
 * @example refundConversion({ amount: 1000n, targetCurrency: 'EUR', payerCurrency: 'HUF', rate, mid }, 0n, 1000n)
 */
export function refundConversion(
  p: ConvertedPayment,
  refundedBefore: bigint,
  refund: bigint,
): RefundConversion {
  if (refund <= 0n) throw new RangeError('the refund must be positive');
  if (refundedBefore < 0n) throw new RangeError('refundedBefore must not be negative');
  if (refundedBefore + refund > p.amount) throw new RangeError('the refunds exceed the payment');
  const at = (v: bigint, r: Rate) => convert(v, p.targetCurrency, p.payerCurrency, r, 'down');
  const after = refundedBefore + refund;
  const customerCredit = at(after, p.rate) - at(refundedBefore, p.rate);
  const fxReversal = at(after, p.mid) - at(refundedBefore, p.mid);
  return { customerCredit, fxReversal, marginReversal: customerCredit - fxReversal };
}
