/**
 * Money as exact integers of minor units with an ISO 4217 currency. Never floating point.
 */

/** ISO 4217 currency facts: numeric code and the number of minor-unit digits. */
export interface CurrencyInfo {
  readonly code: string;
  readonly numeric: string;
  readonly exponent: number;
}

const TABLE: ReadonlyArray<readonly [string, string, number]> = [
  ['EUR', '978', 2],
  ['USD', '840', 2],
  ['GBP', '826', 2],
  ['CHF', '756', 2],
  ['HUF', '348', 2],
  ['PLN', '985', 2],
  ['CZK', '203', 2],
  ['RON', '946', 2],
  ['BGN', '975', 2],
  ['SEK', '752', 2],
  ['DKK', '208', 2],
  ['NOK', '578', 2],
  ['ISK', '352', 0],
  ['TRY', '949', 2],
  ['RSD', '941', 2],
  ['UAH', '980', 2],
  ['KES', '404', 2],
  ['TZS', '834', 2],
  ['UGX', '800', 0],
  ['RWF', '646', 0],
  ['NGN', '566', 2],
  ['GHS', '936', 2],
  ['ZAR', '710', 2],
  ['EGP', '818', 2],
  ['MAD', '504', 2],
  ['XOF', '952', 0],
  ['XAF', '950', 0],
  ['INR', '356', 2],
  ['PKR', '586', 2],
  ['BDT', '050', 2],
  ['PHP', '608', 2],
  ['IDR', '360', 2],
  ['JPY', '392', 0],
  ['KRW', '410', 0],
  ['CNY', '156', 2],
  ['BRL', '986', 2],
  ['MXN', '484', 2],
  ['CLP', '152', 0],
  ['BHD', '048', 3],
  ['KWD', '414', 3],
  ['JOD', '400', 3],
  ['OMR', '512', 3],
  ['TND', '788', 3],
];

const BY_CODE = new Map<string, CurrencyInfo>(
  TABLE.map(([code, numeric, exponent]) => [code, { code, numeric, exponent }]),
);
const BY_NUMERIC = new Map<string, CurrencyInfo>([...BY_CODE.values()].map((c) => [c.numeric, c]));

/** Currency facts by alpha code (`'EUR'`), or undefined when SEMOPS does not know it. */
export function currencyInfo(code: string): CurrencyInfo | undefined {
  return BY_CODE.get(code);
}

/** Currency facts by ISO numeric code (`'978'`). */
export function currencyByNumeric(numeric: string): CurrencyInfo | undefined {
  return BY_NUMERIC.get(numeric);
}

/** Every supported currency code. */
export function supportedCurrencies(): string[] {
  return [...BY_CODE.keys()];
}

/** An exact amount: `value` minor units of `currency` (1250n EUR = €12.50). */
export interface Money {
  readonly value: bigint;
  readonly currency: string;
}

/** Money on the wire: minor units as a decimal string, e.g. `{ "value": "1250", "currency": "EUR" }`. */
export interface MoneyWire {
  readonly value: string;
  readonly currency: string;
}

/** Largest amount SEMOPS accepts in one payment or account: fits a signed 64-bit column. */
export const MAX_MINOR_UNITS = 9_000_000_000_000_000_000n;

export function money(value: bigint, currency: string): Money {
  return { value, currency };
}

export function toWire(m: Money): MoneyWire {
  return { value: m.value.toString(), currency: m.currency };
}

export function fromWire(w: MoneyWire): Money {
  return { value: BigInt(w.value), currency: w.currency };
}

/**
 * Parses a human decimal amount in major units into minor units.
 * @example parseAmount('12.5', 'EUR') // 1250n
 * Throws RangeError on an unknown currency, too many decimals, a sign or garbage.
 */
export function parseAmount(text: string, currency: string): bigint {
  const info = currencyInfo(currency);
  if (!info) throw new RangeError(`unknown currency ${currency}`);
  const m = /^(\d{1,19})(?:[.,](\d+))?$/.exec(text.trim());
  if (!m) throw new RangeError(`not an amount: ${text}`);
  const whole = m[1] ?? '0';
  const frac = m[2] ?? '';
  if (frac.length > info.exponent) {
    throw new RangeError(`${currency} has ${info.exponent} decimals; got ${text}`);
  }
  const value = BigInt(whole + frac.padEnd(info.exponent, '0'));
  if (value > MAX_MINOR_UNITS) throw new RangeError(`amount too large: ${text}`);
  return value;
}

/**
 * Formats minor units as a plain decimal string in major units.
 * @example formatAmount(1250n, 'EUR') // '12.50'
 */
export function formatAmount(value: bigint, currency: string): string {
  const info = currencyInfo(currency);
  const exp = info?.exponent ?? 2;
  const neg = value < 0n;
  const digits = (neg ? -value : value).toString().padStart(exp + 1, '0');
  const whole = digits.slice(0, digits.length - exp);
  const frac = digits.slice(digits.length - exp);
  return `${neg ? '-' : ''}${whole}${exp > 0 ? '.' + frac : ''}`;
}

/** `'12.50 EUR'` */
export function formatMoney(m: Money): string {
  return `${formatAmount(m.value, m.currency)} ${m.currency}`;
}
