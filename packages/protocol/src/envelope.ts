/**
 * The signed message envelope every node-to-node message travels in: a compact JWS (EdDSA) whose payload
 * is `{ id, type, sender, receiver, issuedAt, expiresAt, body }`, sent as `{ "jws": "…" }` to
 * `POST /v1/messages` of the receiver. A receiver accepts a message id once.
 */
import { newId, type MessageId } from './ids.js';
import { SemopsError } from './errors.js';
import { MAX_MESSAGE_LENGTH, peekJws, signJson, verifyJson, type Key } from './crypto.js';
import { nodeOfKeyId } from './keys.js';

export const MESSAGE_TYP = 'semops-msg+jws';
/** Default lifetime of a message. */
export const MESSAGE_TTL_MS = 60_000;
/** Clock skew tolerated between nodes. */
export const MAX_CLOCK_SKEW_MS = 30_000;
/** Longest lifetime a receiver accepts. */
export const MAX_MESSAGE_TTL_MS = 10 * 60_000;

export interface Envelope<T = unknown> {
  readonly id: MessageId;
  readonly type: string;
  readonly sender: string;
  readonly receiver: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly body: T;
}

export interface Signer {
  /** The node id that signs (`hub`, `bank-a`). */
  readonly id: string;
  readonly key: Key;
  /**
   * The id of `key`, `<node>#<thumbprint>` (see keys.ts), so that verifiers pick it among the node's keys
   * during a rotation; without it the JWS names only the node (its current key).
   */
  readonly kid?: string;
}

/**
 * Signs a payload (a request token, a receipt) as `signer`, naming its key.
 * @example const token = await signAs(signer, payload, REQUEST_TYP);
 */
export function signAs(signer: Signer, payload: unknown, typ: string): Promise<string> {
  return signJson(payload, signer.key, signer.kid ?? signer.id, typ);
}

/** Builds and signs an envelope. */
export async function sealMessage<T>(
  signer: Signer,
  receiver: string,
  type: string,
  body: T,
  opts: { now?: number; ttlMs?: number } = {},
): Promise<{ envelope: Envelope<T>; jws: string }> {
  const now = opts.now ?? Date.now();
  const envelope: Envelope<T> = {
    id: newId('msg', now),
    type,
    sender: signer.id,
    receiver,
    issuedAt: now,
    expiresAt: now + (opts.ttlMs ?? MESSAGE_TTL_MS),
    body,
  };
  return { envelope, jws: await signAs(signer, envelope, MESSAGE_TYP) };
}

export interface OpenOptions {
  /** This node's id: messages to anyone else are refused. */
  readonly me: string;
  /**
   * The public key a key id (`<node>#<thumbprint>`, or a bare node id for its current key) names, or
   * undefined when unknown; throws KEY_RETIRED for a key its node no longer signs with.
   */
  readonly resolveKey: (kid: string) => Promise<Key | undefined> | Key | undefined;
  readonly now?: number;
}

function isEnvelope(v: unknown): v is Envelope {
  const e = v as Record<string, unknown> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.id === 'string' &&
    /^msg_[0-9A-HJKMNP-TV-Z]{26}$/.test(e.id) &&
    typeof e.type === 'string' &&
    typeof e.sender === 'string' &&
    typeof e.receiver === 'string' &&
    Number.isSafeInteger(e.issuedAt) &&
    Number.isSafeInteger(e.expiresAt) &&
    'body' in e
  );
}

/**
 * Verifies a sealed message: sender known, signature, receiver, time window. Replay protection (accept an id
 * once) is the caller's job, because it needs storage: see `ReplayGuard`.
 */
export async function openMessage(jws: unknown, opts: OpenOptions): Promise<Envelope> {
  if (typeof jws !== 'string') throw new SemopsError('MESSAGE_MALFORMED', 'Send { "jws": "<compact JWS>" }.');
  const { kid } = peekJws(jws, MAX_MESSAGE_LENGTH);
  const key = await opts.resolveKey(kid);
  if (!key)
    throw new SemopsError(
      'UNKNOWN_SENDER',
      `Unknown sender key ${kid.slice(0, 80)}: no participant with this key is registered at the hub.`,
    );
  const payload = await verifyJson(jws, key, MESSAGE_TYP, MAX_MESSAGE_LENGTH);
  if (!isEnvelope(payload))
    throw new SemopsError('MESSAGE_MALFORMED', 'The envelope fields are missing or wrong.');
  if (payload.sender !== nodeOfKeyId(kid))
    throw new SemopsError('SIGNATURE_INVALID', 'The sender does not match the key id.');
  if (payload.receiver !== opts.me) throw new SemopsError('WRONG_RECEIVER');
  const now = opts.now ?? Date.now();
  if (payload.issuedAt > now + MAX_CLOCK_SKEW_MS) throw new SemopsError('MESSAGE_FROM_FUTURE');
  if (payload.expiresAt <= now) throw new SemopsError('MESSAGE_EXPIRED');
  if (payload.expiresAt - payload.issuedAt > MAX_MESSAGE_TTL_MS) {
    throw new SemopsError('MESSAGE_MALFORMED', 'The message lifetime is longer than allowed.');
  }
  return payload;
}

/** Remembers message ids until they expire, so each is accepted once. */
export interface ReplayGuard {
  /** Returns false when the id was already seen. */
  remember(id: string, expiresAt: number): boolean;
}
