/**
 * Text helpers for feature-phone channels: SMS and USSD screens hold 160 characters and many handsets show
 * only the GSM 7-bit alphabet, so names are folded to ASCII and clipped, amounts shown in major units.
 */
import { formatAmount } from '@semops/protocol';

/** Longest SMS text or USSD reply (prefix `CON `/`END ` included) this service sends. */
export const MAX_SCREEN = 160;

/** Folds text to printable ASCII (`Café` → `Cafe`), clipped to `max` characters; `fallback` when nothing is left. */
export function fold(text: string, max: number, fallback = '?'): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return clip(ascii || fallback, max);
}

/** Clips text to `max` characters, marking the cut with a full stop. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return `${chars
    .slice(0, Math.max(0, max - 1))
    .join('')
    .trimEnd()}.`;
}

/** Ends a sentence with a full stop, unless it ends with one already (`Ben O.`). */
export function period(text: string): string {
  return text.endsWith('.') ? text : `${text}.`;
}

/** `12.50 EUR` */
export function showMoney(value: bigint | string, currency: string): string {
  return `${formatAmount(BigInt(value), currency)} ${currency}`;
}

/** A merchant as a phone shows it: `Cafe Central, Wien`. */
export function showMerchant(m: { readonly name: string; readonly city?: string }): string {
  const name = fold(m.name, 22, 'Merchant');
  const city = m.city ? fold(m.city, 15, '') : '';
  return city ? `${name}, ${city}` : name;
}

/** Day and month of a timestamp, `14.05` (UTC). */
export function showDay(epochMs: number): string {
  const d = new Date(epochMs);
  return `${String(d.getUTCDate()).padStart(2, '0')}.${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * Joins a header and lines into one screen of at most `max` characters: labels are shortened first, then
 * the oldest lines (the last ones) are left out.
 */
export function fitLines(
  header: string,
  lines: ReadonlyArray<{ readonly head: string; readonly label: string }>,
  max: number,
): string {
  const render = (ls: typeof lines, labelMax: number) =>
    [header, ...ls.map((l) => `${l.head} ${clip(l.label, labelMax)}`.trimEnd())].join('\n');
  for (let n = lines.length; n >= 0; n--) {
    const some = lines.slice(0, n);
    for (let labelMax = 20; labelMax >= 6; labelMax--) {
      const text = render(some, labelMax);
      if ([...text].length <= max) return text;
    }
  }
  return clip(header, max);
}
