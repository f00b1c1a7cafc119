/**
 * Ways a payment request reaches a phone: `semops://pay` deep links and 10-digit short codes
 * (3-digit routing prefix of the payee processor + 6-digit number + Luhn check digit).
 */
import { SemopsError } from './errors.js';

/** Luhn check digit of a digit string. */
export function luhnDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/**
 * Builds a short code from a routing prefix and a sequence number.
 * @example makeShortCode('101', 42) // '1010000420'+check → 10 digits
 */
export function makeShortCode(routingPrefix: string, seq: number): string {
  if (!/^[1-9]\d{2}$/.test(routingPrefix)) throw new RangeError('routing prefix must be 3 digits');
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > 999_999) throw new RangeError('sequence out of range');
  const body = routingPrefix + String(seq).padStart(6, '0');
  return body + luhnDigit(body);
}

/** True when `code` is 10 digits with a valid Luhn check digit. */
export function isShortCode(code: string): boolean {
  return /^\d{10}$/.test(code) && luhnDigit(code.slice(0, 9)) === code[9];
}

export function routingPrefixOf(code: string): string {
  return code.slice(0, 3);
}

/** `semops://pay?p=<processorId>&r=<requestId>` */
export function makeDeepLink(processorId: string, requestId: string): string {
  return `semops://pay?p=${encodeURIComponent(processorId)}&r=${encodeURIComponent(requestId)}`;
}

/** What a code, link or payload names: a request at a processor, or a short code to route. */
export type PaymentCode =
  | { readonly kind: 'request'; readonly processorId: string; readonly requestId: string }
  | { readonly kind: 'shortCode'; readonly shortCode: string };

/** Parses a deep link (`semops://pay?…` or an https link with the same `p` and `r` query). */
export function parseDeepLink(link: string): PaymentCode {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new SemopsError('CODE_INVALID');
  }
  const p = url.searchParams.get('p');
  const r = url.searchParams.get('r');
  const c = url.searchParams.get('c');
  if (p && r && /^[a-z][a-z0-9-]{1,31}$/.test(p) && /^req_[0-9A-HJKMNP-TV-Z]{26}$/.test(r)) {
    return { kind: 'request', processorId: p, requestId: r };
  }
  if (c && isShortCode(c)) return { kind: 'shortCode', shortCode: c };
  throw new SemopsError('CODE_INVALID', 'The link does not name a payment request.');
}
