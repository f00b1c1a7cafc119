/**
 * Money as SEMOPS sends it: `{ value, currency }` where `value` is a whole number of minor units written as a
 * decimal string (`{ value: '1250', currency: 'EUR' }` is €12.50). Never a float.
 */
import { currencyInfo, formatAmount as formatMinor, parseAmount } from '@semops/protocol';

/** An exact amount in minor units of an ISO 4217 currency, as on the wire. */
export interface Money {
  readonly value: string;
  readonly currency: string;
}

/**
 * An amount from a human decimal in major units. Throws `RangeError` for an unknown currency, more decimals
 * than the currency has, a sign, or anything that is not a number.
 *
 * @example
 * amount('12.50', 'EUR'); // { value: '1250', currency: 'EUR' }
 * amount('500', 'UGX'); // { value: '500', currency: 'UGX' } (no minor unit)
 */
export function amount(major: string, currency: string): Money {
  return { value: parseAmount(major, currency).toString(), currency };
}

/**
 * An amount from minor units.
 *
 * @example
 * minorUnits(1250n, 'EUR'); // { value: '1250', currency: 'EUR' }
 */
export function minorUnits(value: bigint | number, currency: string): Money {
  if (!currencyInfo(currency)) throw new RangeError(`unknown currency ${currency}`);
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`minor units must be a whole number, got ${value}`);
  }
  return { value: BigInt(value).toString(), currency };
}

/**
 * The amount in major units, as a plain decimal string.
 *
 * @example
 * toMajor({ value: '1250', currency: 'EUR' }); // '12.50'
 */
export function toMajor(m: Money): string {
  return formatMinor(BigInt(m.value), m.currency);
}

/**
 * The amount for people: major units and currency code.
 *
 * @example
 * formatMoney({ value: '1250', currency: 'EUR' }); // '12.50 EUR'
 */
export function formatMoney(m: Money): string {
  return `${toMajor(m)} ${m.currency}`;
}

/** True when both amounts are the same number of minor units of the same currency. */
export function sameMoney(a: Money, b: Money): boolean {
  return a.currency === b.currency && BigInt(a.value) === BigInt(b.value);
}
