/**
 * What the FX desk works with: its start options and limits, a quote as stored and as shown to the customer,
 * the rows of its tables, and the checks of settings given at start or by the operator.
 */
import { SemopsError, currencyInfo, type Money, type MoneyWire, type Rate } from '@semops/protocol';
import { checkRates, type RateEntry } from './rates.js';

/**
 * FX options of a processor (`--rates-file`, `--fx-spread-bps`, `--fx-fee`, `--quote-ttl-ms`). Each one is
 * applied at start only when given (see `init`); what is left out keeps the value in the database — the
 * previous start's, or the operator's `PUT /v1/admin/fx/config` since.
 */
export interface FxOptions {
  /** Spread over the mid rate, integer basis points 0..9999 (0 in a new database). */
  readonly spreadBps?: number;
  /**
   * Fixed fee per customer currency, minor units as a string (`{ HUF: '10000' }` = 100.00 HUF). Given, it
   * replaces the whole map (as `PUT /v1/admin/fx/config` does); none in a new database.
   */
  readonly feeFixed?: Readonly<Record<string, string>>;
  /** How long a quote holds (30000 ms in a new database). */
  readonly quoteTtlMs?: number;
  /** A rates file (`base,quote,rate` lines), loaded at start and again whenever it changes. */
  readonly ratesFile?: string;
  /** Rates to start with when there is no rates file (at least one). */
  readonly rates?: readonly RateEntry[];
  /** How often the rates file's modification time is checked (default 5000 ms). */
  readonly pollMs?: number;
}

export const DEFAULT_QUOTE_TTL_MS = 30_000;
/** Unused quotes are deleted once they have been expired this long (`purge`). */
export const QUOTE_RETENTION_MS = 24 * 60 * 60_000;
/** How often the purge runs (first at `start`). */
export const QUOTE_PURGE_INTERVAL_MS = 60 * 60_000;
export const MIN_QUOTE_TTL_MS = 100;
export const MAX_QUOTE_TTL_MS = 3_600_000;

/** A quote as the customer sees it. Amounts are minor-unit strings; `rate` is for display only. */
export interface FxQuoteView {
  readonly quoteId: string;
  readonly requestId: string;
  /** What the merchant receives, in the request's currency. */
  readonly amount: MoneyWire;
  /** `amount` converted at the customer rate, rounded up, in the customer's currency. */
  readonly converted: MoneyWire;
  /** The fixed FX fee, in the customer's currency. */
  readonly fee: MoneyWire;
  /** converted + fee: what the customer's account is debited. */
  readonly total: MoneyWire;
  /** `1 EUR = 394.412250 HUF` (the customer rate, spread included). */
  readonly rate: string;
  readonly quotedAt: number;
  readonly expiresAt: number;
}

/** A stored quote, with everything the payment books. */
export interface StoredQuote {
  readonly id: string;
  readonly customerId: string;
  readonly requestId: string;
  readonly payee: string;
  /** Target amount (the merchant's). */
  readonly amount: Money;
  readonly payerCurrency: string;
  readonly payerAmount: bigint;
  readonly fee: bigint;
  readonly total: bigint;
  /** Mid-rate cost, rounded down: credited to `fx:<payer currency>`. */
  readonly positionCredit: bigint;
  /** payerAmount − positionCredit: credited to `fxmargin:<payer currency>`. */
  readonly marginCredit: bigint;
  /** Customer rate: 1 target major = rate payer major. */
  readonly rate: Rate;
  /** Mid rate in the same direction. */
  readonly mid: Rate;
  readonly rateShown: string;
  readonly quotedAt: number;
  readonly expiresAt: number;
  readonly paymentId: string | null;
}

export interface QuoteRow {
  id: string;
  customer_id: string;
  request_id: string;
  payee: string;
  amount: string;
  currency: string;
  payer_currency: string;
  payer_amount: string;
  fee: string;
  total: string;
  position_credit: string;
  margin_credit: string;
  rate_num: string;
  rate_den: string;
  mid_num: string;
  mid_den: string;
  rate_shown: string;
  quoted_at: number | string;
  expires_at: number | string;
  payment_id: string | null;
}

export interface ConfigRow {
  spread_bps: number | string;
  fee_fixed: string;
  quote_ttl_ms: number | string;
  rates_file: string | null;
  rates_mtime: number | string | null;
  loaded_at: number | string | null;
  file_error: string | null;
}

export interface RateRow {
  base: string;
  quote: string;
  rate: string;
  source: 'file' | 'config' | 'admin';
}

export function toStored(r: QuoteRow): StoredQuote {
  return {
    id: r.id,
    customerId: r.customer_id,
    requestId: r.request_id,
    payee: r.payee,
    amount: { value: BigInt(r.amount), currency: r.currency },
    payerCurrency: r.payer_currency,
    payerAmount: BigInt(r.payer_amount),
    fee: BigInt(r.fee),
    total: BigInt(r.total),
    positionCredit: BigInt(r.position_credit),
    marginCredit: BigInt(r.margin_credit),
    rate: { num: BigInt(r.rate_num), den: BigInt(r.rate_den) },
    mid: { num: BigInt(r.mid_num), den: BigInt(r.mid_den) },
    rateShown: r.rate_shown,
    quotedAt: Number(r.quoted_at),
    expiresAt: Number(r.expires_at),
    paymentId: r.payment_id,
  };
}

/** What the customer is shown of a stored quote. */
export function quoteView(s: StoredQuote): FxQuoteView {
  const m = (value: bigint, currency: string): MoneyWire => ({ value: value.toString(), currency });
  return {
    quoteId: s.id,
    requestId: s.requestId,
    amount: m(s.amount.value, s.amount.currency),
    converted: m(s.payerAmount, s.payerCurrency),
    fee: m(s.fee, s.payerCurrency),
    total: m(s.total, s.payerCurrency),
    rate: s.rateShown,
    quotedAt: s.quotedAt,
    expiresAt: s.expiresAt,
  };
}

/** Checks FX settings given at start or by the operator; throws VALIDATION_FAILED naming the field. */
export function checkFxConfig(c: {
  spreadBps?: number | undefined;
  feeFixed?: Readonly<Record<string, string>> | undefined;
  quoteTtlMs?: number | undefined;
}): void {
  const bad = (path: string, message: string): never => {
    throw new SemopsError('VALIDATION_FAILED', `Invalid request, ${path}: ${message}.`, {
      issues: [{ path, message }],
    });
  };
  if (
    c.spreadBps !== undefined &&
    (!Number.isSafeInteger(c.spreadBps) || c.spreadBps < 0 || c.spreadBps > 9999)
  )
    bad('spreadBps', 'a whole number of basis points from 0 to 9999');
  if (
    c.quoteTtlMs !== undefined &&
    (!Number.isSafeInteger(c.quoteTtlMs) ||
      c.quoteTtlMs < MIN_QUOTE_TTL_MS ||
      c.quoteTtlMs > MAX_QUOTE_TTL_MS)
  )
    bad('quoteTtlMs', `milliseconds from ${MIN_QUOTE_TTL_MS} to ${MAX_QUOTE_TTL_MS}`);
  for (const [cur, v] of Object.entries(c.feeFixed ?? {})) {
    if (!/^[A-Z]{3}$/.test(cur) || !currencyInfo(cur)) bad(`feeFixed.${cur}`, 'an ISO 4217 currency code');
    if (!/^(0|[1-9]\d{0,17})$/.test(v)) bad(`feeFixed.${cur}`, 'minor units as a whole-number string');
  }
}

/**
 * Checks a list of rates that replaces the rates table: every entry valid and at least one. An empty list is
 * refused with VALIDATION_FAILED — it would switch currency conversion off without anyone noticing (a rates
 * file without a rate is refused for the same reason).
 */
export function checkRateList(rates: readonly RateEntry[]): RateEntry[] {
  if (rates.length === 0) {
    const message =
      'at least one rate is needed; an empty list would switch currency conversion off (to change one rate, send the whole list with it)';
    throw new SemopsError('VALIDATION_FAILED', `Invalid request, rates: ${message}.`, {
      issues: [{ path: 'rates', message }],
    });
  }
  return checkRates(rates);
}
