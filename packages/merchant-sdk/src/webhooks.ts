/**
 * Webhook signatures. The processor signs every delivery with the merchant's webhook secret:
 *
 *     Semops-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>
 *
 * Uses WebCrypto only, so it runs in Node ≥ 20, Deno, Bun, edge workers and browsers alike.
 */
import { WebhookSignatureError } from './errors.js';
import type { Money } from './money.js';
import type { PaymentCompletedEvent, WebhookEvent } from './types.js';

/** The header the processor puts the signature in (`semops-signature` in Node's lower-cased headers). */
export const SIGNATURE_HEADER = 'Semops-Signature';
/** Default accepted clock difference between the signature's timestamp and now. */
export const DEFAULT_TOLERANCE_MS = 5 * 60_000;

export interface VerifyWebhookOptions {
  /** How far the signature's timestamp may be from now, either way; default 5 minutes. */
  readonly toleranceMs?: number;
  /** The clock, for tests. */
  readonly now?: () => number;
}

const encoder = new TextEncoder();

function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? encoder.encode(body) : body;
}

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    [usage],
  );
}

function signedPayload(t: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${t}.`);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (hex.length !== 64 || !/^[0-9a-f]+$/i.test(hex)) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Splits `t=…,v1=…[,v1=…]`; several `v1` are allowed (a processor may sign with an old and a new secret). */
function parseHeader(header: string): { t: string; v1: string[] } {
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new WebhookSignatureError('MALFORMED_HEADER', `malformed signature header part "${part}"`);
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't') {
      if (t !== undefined)
        throw new WebhookSignatureError('MALFORMED_HEADER', 'two timestamps in the header');
      t = v;
    } else if (k === 'v1') v1.push(v);
    // Other schemes (v0, v2…) are ignored, so a processor can add one without breaking this verifier.
  }
  if (t === undefined || !/^\d{1,15}$/.test(t)) {
    throw new WebhookSignatureError('MALFORMED_HEADER', 'the signature header has no valid t=<unix ms>');
  }
  if (v1.length === 0) throw new WebhookSignatureError('MALFORMED_HEADER', 'the signature header has no v1=');
  return { t, v1 };
}

function isMoney(x: unknown): x is Money {
  const m = x as Money | null;
  return typeof m === 'object' && m !== null && typeof m.value === 'string' && typeof m.currency === 'string';
}

/**
 * Verifies a webhook and returns its event. Pass the body exactly as received (the raw bytes or string,
 * before any JSON parsing: re-serialised JSON does not verify).
 *
 * The check: the header is well formed, its timestamp is within `toleranceMs` of now, and one of its `v1`
 * signatures is the HMAC-SHA256 of `t + "." + body` under `secret`, compared in constant time (WebCrypto
 * `verify`). A retried delivery is signed afresh, so retries pass the timestamp check.
 *
 * **Replays:** the timestamp bounds how long a captured delivery can be replayed, not whether it is. Keep
 * the ids of the events you have handled (at least for `toleranceMs`) and ignore an event id you have
 * already seen; the processor also retries until you answer 2xx, so the same event can arrive twice.
 *
 * Throws {@link WebhookSignatureError} (`reason` says why) when anything does not verify.
 *
 * @example
 * // node:http; `secret` is the webhookSecret the processor gave you with your API key
 * const raw = await readBody(req);
 * let event;
 * try {
 *   event = await verifyWebhook(raw, req.headers['semops-signature'], secret);
 * } catch (e) {
 *   if (e instanceof WebhookSignatureError) return res.writeHead(400).end();
 *   throw e;
 * }
 * if (!(await seenBefore(event.id)) && isPaymentCompleted(event)) markPaid(event.data.reference);
 * res.writeHead(204).end();
 */
export async function verifyWebhook(
  rawBody: string | Uint8Array,
  signatureHeader: string | readonly string[] | null | undefined,
  secret: string,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const header = Array.isArray(signatureHeader) ? signatureHeader.join(',') : signatureHeader;
  if (typeof header !== 'string' || header.trim() === '') {
    throw new WebhookSignatureError('MISSING_HEADER', `no ${SIGNATURE_HEADER} header`);
  }
  if (!secret) throw new TypeError('verifyWebhook needs the webhook secret');
  const { t, v1 } = parseHeader(header);
  const tolerance = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const now = (options.now ?? Date.now)();
  if (Math.abs(now - Number(t)) > tolerance) {
    throw new WebhookSignatureError(
      'TIMESTAMP_OUT_OF_TOLERANCE',
      `the signature is dated ${Math.round((now - Number(t)) / 1000)} s from now, beyond ${tolerance / 1000} s`,
    );
  }
  const body = bytesOf(rawBody);
  const key = await hmacKey(secret, 'verify');
  const data = signedPayload(t, body);
  let ok = false;
  for (const candidate of v1) {
    const sig = hexToBytes(candidate);
    // Every candidate is checked (no early exit), and `verify` compares in constant time.
    if (sig && (await globalThis.crypto.subtle.verify('HMAC', key, sig, data))) ok = true;
  }
  if (!ok) throw new WebhookSignatureError('SIGNATURE_MISMATCH', 'the webhook signature does not match');

  let event: unknown;
  try {
    event = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new WebhookSignatureError('MALFORMED_BODY', 'the signed webhook body is not JSON');
  }
  const e = event as Partial<WebhookEvent> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.id !== 'string' ||
    typeof e.type !== 'string' ||
    typeof e.createdAt !== 'number' ||
    typeof e.data !== 'object' ||
    e.data === null
  ) {
    throw new WebhookSignatureError('MALFORMED_BODY', 'the signed webhook body is not a SEMOPS event');
  }
  return e as WebhookEvent;
}

/**
 * Narrows an event to `payment.completed` (a payment was committed to you; it is irrevocable).
 *
 * @example
 * if (isPaymentCompleted(event)) orders.markPaid(event.data.reference, event.data.amount);
 */
export function isPaymentCompleted(event: WebhookEvent): event is PaymentCompletedEvent {
  const d = event.data as Partial<PaymentCompletedEvent['data']> | null;
  return (
    event.type === 'payment.completed' &&
    typeof d === 'object' &&
    d !== null &&
    typeof d.paymentId === 'string' &&
    typeof d.requestId === 'string' &&
    typeof d.reference === 'string' &&
    isMoney(d.amount)
  );
}

/**
 * Signs a body as the processor does: the `Semops-Signature` header value. For your own tests of a webhook
 * endpoint.
 *
 * @example
 * const header = await signWebhook(JSON.stringify(event), 'whsec_test', Date.now());
 */
export async function signWebhook(body: string | Uint8Array, secret: string, t: number): Promise<string> {
  const key = await hmacKey(secret, 'sign');
  const mac = new Uint8Array(
    await globalThis.crypto.subtle.sign('HMAC', key, signedPayload(String(t), bytesOf(body))),
  );
  return `t=${t},v1=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
