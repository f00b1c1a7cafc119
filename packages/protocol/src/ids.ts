/**
 * Prefixed, time-sortable identifiers: `pay_01JD…` (prefix, underscore, 26 Crockford base32 chars).
 */

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Known id prefixes and what they name. */
export const ID_PREFIXES = {
  req: 'payment request',
  pay: 'payment (one transfer across the network)',
  msg: 'signed message',
  cus: 'customer',
  dev: 'device',
  mer: 'merchant',
  acc: 'ledger account',
  tr: 'ledger transfer',
  rct: 'receipt',
  evt: 'event',
  res: 'resolved request',
  ntf: 'customer notification',
  inb: 'inbox item (a request for money)',
  fxq: 'FX quote shown to a customer',
  win: 'settlement window',
} as const;

export type IdPrefix = keyof typeof ID_PREFIXES;
export type Id<P extends IdPrefix> = string & { readonly __brand: P };
export type RequestId = Id<'req'>;
export type PaymentId = Id<'pay'>;
export type MessageId = Id<'msg'>;

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return b;
}

/**
 * A new id: 10 chars of millisecond time then 16 random chars, so ids sort by creation.
 * @example newId('pay') // 'pay_01JDXK7ZQ4…'
 */
export function newId<P extends IdPrefix>(prefix: P, now: number = Date.now()): Id<P> {
  let t = now;
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(16);
  let tail = '';
  for (const byte of rnd) tail += ALPHABET[byte & 31]!;
  return `${prefix}_${time}${tail}` as Id<P>;
}

const ID_RE = /^([a-z]{2,4})_[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `s` is a well-formed id with the given prefix. */
export function isId<P extends IdPrefix>(prefix: P, s: unknown): s is Id<P> {
  if (typeof s !== 'string') return false;
  const m = ID_RE.exec(s);
  return m !== null && m[1] === prefix;
}

/** Regex source for ids of one prefix, for schemas. */
export function idPattern(prefix: IdPrefix): RegExp {
  return new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`);
}

/** A random secret token in base64url (API keys, access tokens, activation codes). */
export function randomToken(bytes = 24): string {
  return base64url(randomBytes(bytes));
}

export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
