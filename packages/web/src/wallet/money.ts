/**
 * Money as the wallet shows it: exact to the minor unit, never rounded for display.
 *
 * The browser's currency format rounds some currencies to whole units although ISO 4217 gives them decimals
 * (Chromium shows 4044.13 HUF as `HUF 4,044`, a fee of 100.00 HUF as `HUF 100`). A customer paying from a
 * HUF account must see what is debited to the fillér, so such a currency is written as the processor writes
 * it in quotes, rates and notifications: `4044.13 HUF`. Currencies the browser formats with their ISO
 * decimals keep the locale's format (`€4.20`).
 */
import { currencyInfo, formatAmount, type MoneyWire } from '@semops/protocol';

/** `{ value: '420', currency: 'EUR' }` → `€4.20`; `{ value: '404413', currency: 'HUF' }` → `4044.13 HUF`. */
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
