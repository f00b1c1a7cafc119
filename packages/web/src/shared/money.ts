/** Money display: exact minor units from the wire, shown in the reader's locale with the currency sign. */
import { currencyInfo, formatAmount, parseAmount, type MoneyWire } from '@semops/protocol';

export type { MoneyWire };

/**
 * `{ value: '420', currency: 'EUR' }` → `€4.20` (in the browser's locale); exact to the minor unit, never
 * rounded for display. The browser's currency format rounds some currencies to whole units although ISO 4217
 * gives them decimals (Chromium shows 4044.13 HUF as `HUF 4,044`); such a currency is written as the
 * processor writes it in quotes and notifications: `4044.13 HUF`.
 */
export function showMoney(m: MoneyWire, sign?: '+' | '-'): string {
  const decimal = formatAmount(BigInt(m.value), m.currency) as `${number}`;
  let text = `${decimal} ${m.currency}`;
  try {
    const format = new Intl.NumberFormat(undefined, { style: 'currency', currency: m.currency });
    const { minimumFractionDigits, maximumFractionDigits } = format.resolvedOptions();
    const exponent = currencyInfo(m.currency)?.exponent;
    if (minimumFractionDigits === exponent && maximumFractionDigits === exponent)
      text = format.format(decimal);
  } catch {
    // A currency code the browser does not know: the plain form.
  }
  return sign ? `${sign === '+' ? '+' : '−'}${text}` : text;
}

/** Parses what a person typed (`4.20`, `4,2`) into wire money, or returns an error message. */
export function readAmount(text: string, currency: string): MoneyWire | string {
  try {
    const value = parseAmount(text, currency);
    if (value <= 0n) return 'Enter an amount above zero.';
    return { value: value.toString(), currency };
  } catch {
    return `Enter an amount in ${currency}, such as 4.20.`;
  }
}

/** `HH:MM` today, otherwise a short date and time. */
export function showTime(ms: number): string {
  const d = new Date(ms);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** `m:ss` left until `until`, or null once it has passed. */
export function countdown(until: number, now: number): string | null {
  const s = Math.ceil((until - now) / 1000);
  if (s <= 0) return null;
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}
