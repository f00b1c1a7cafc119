/** Money display: exact minor units from the wire, shown in the reader's locale with the currency sign. */
import { formatAmount, parseAmount, type MoneyWire } from '@semops/protocol';

export type { MoneyWire };

/** `{ value: '420', currency: 'EUR' }` → `€4.20` (in the browser's locale). */
export function showMoney(m: MoneyWire, sign?: '+' | '-'): string {
  const decimal = formatAmount(BigInt(m.value), m.currency) as `${number}`;
  let text: string;
  try {
    text = new Intl.NumberFormat(undefined, { style: 'currency', currency: m.currency }).format(decimal);
  } catch {
    text = `${decimal} ${m.currency}`;
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
