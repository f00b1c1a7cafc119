/**
 * Node signing keys and their rotation. Every signature a node makes names its key as `kid`
 * `<node>#<RFC 7638 thumbprint>`, so a verifier picks the key by id and a node can hold two keys at once: its
 * current key, and the one it replaced, accepted until the end of an overlap (`until`). A rotation is a
 * statement signed by the current key (the node's authority) and by the new key (proof of possession); a
 * retirement is a statement signed by the current key. The hub checks and records the statements of
 * processors; a processor follows the chain of the hub's own statements from the hub key it pinned.
 *
 * @example
 * const kid = await signingKeyId('bank-a', publicJwk); // 'bank-a#3Xk…'
 * nodeOfKeyId(kid); // 'bank-a'
 */
import { base64url, calculateJwkThumbprint } from 'jose';

const base64urlDecode = (s: string) => base64url.decode(s);
import { z } from 'zod';
import { isEd25519Jwk, peekJws, signJson, verifyJson, importSigningKey, publicPart } from './crypto.js';
import type { JWK, Key } from './crypto.js';
import { SemopsError } from './errors.js';
import { okpJwk, participant, processorId } from './schemas.js';

/** The `typ` of key statements (rotations and retirements). */
export const KEY_STATEMENT_TYP = 'semops-keys+jws';
/** Longest overlap: the replaced key is accepted at most this long after a rotation. */
export const MAX_KEY_OVERLAP_MS = 7 * 24 * 3_600_000;
/** Default overlap of `semops keys rotate`: long enough for every message and token in flight. */
export const DEFAULT_KEY_OVERLAP_MS = 15 * 60_000;
/** A statement older than this (or dated this far ahead) is refused: it cannot be kept and replayed later. */
export const KEY_STATEMENT_MAX_AGE_MS = 5 * 60_000;

/** A node id: a processor id or `hub`. */
const nodeId = processorId;
/** `<node>#<43 base64url characters>`. */
export const keyId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,31}#[A-Za-z0-9_-]{43}$/, 'a key id <node>#<thumbprint>');

/** A public signing key as nodes and the hub publish it: accepted from `since` until `until` (if set). */
export const publishedKey = z.strictObject({
  kid: keyId,
  key: okpJwk,
  since: z.number().int(),
  until: z.number().int().optional(),
});
export type PublishedKey = z.infer<typeof publishedKey>;

/**
 * A participant as the hub publishes it (`GET /v1/participants`): `signingKey` is its current key and
 * `signingKeys` every key of its recent history, current first, each with its validity.
 */
export const publishedParticipant = participant.extend({
  signingKeys: z.array(publishedKey).max(16).optional(),
});
export type PublishedParticipant = z.infer<typeof publishedParticipant>;

/** The key id of a node's public signing key. */
export async function signingKeyId(node: string, jwk: JWK): Promise<string> {
  return `${node}#${await calculateJwkThumbprint(publicPart(jwk), 'sha256')}`;
}

/** The node that a key id names (`bank-a#…` → `bank-a`; a bare node id names the node's current key). */
export function nodeOfKeyId(kid: string): string {
  const i = kid.indexOf('#');
  return i < 0 ? kid : kid.slice(0, i);
}

/** Whether a published key signs for its node at `now`. */
export function keyAccepted(k: { readonly until?: number | undefined }, now: number): boolean {
  return k.until === undefined || now < k.until;
}

/** A key that signed with it after `until` is refused with this, naming the key. */
export function keyRetired(kid: string): SemopsError {
  return new SemopsError(
    'KEY_RETIRED',
    `The key ${kid.slice(0, 80)} was retired; its node must sign with its current key.`,
  );
}

export const rotateStatement = z.strictObject({
  action: z.literal('rotate'),
  node: nodeId,
  /** The new key and its id. */
  kid: keyId,
  key: okpJwk,
  /** The key it replaces: the one that signs this statement. */
  previous: keyId,
  /** How long the replaced key stays accepted. */
  overlapMs: z.number().int().min(0).max(MAX_KEY_OVERLAP_MS),
  issuedAt: z.number().int(),
});
export type RotateStatement = z.infer<typeof rotateStatement>;

export const retireStatement = z.strictObject({
  action: z.literal('retire'),
  node: nodeId,
  /** The earlier key that is no longer accepted from `issuedAt` on. */
  kid: keyId,
  issuedAt: z.number().int(),
});
export type RetireStatement = z.infer<typeof retireStatement>;

export const keyStatement = z.discriminatedUnion('action', [rotateStatement, retireStatement]);
export type KeyStatement = z.infer<typeof keyStatement>;

/** Body of the hub message `keys.rotate`: the statement signed by the current key, the same by the new one. */
export const keysRotate = z.strictObject({
  statement: z.string().max(4096),
  proof: z.string().max(4096),
});
export const keysRotateResult = z.strictObject({ kid: keyId, previousUntil: z.number().int() });
/** Body of the hub message `keys.retire`: the statement signed by the current key. */
export const keysRetire = z.strictObject({ statement: z.string().max(4096) });
export const keysRetireResult = z.strictObject({ kid: keyId, until: z.number().int() });

const invalid = (why: string) => new SemopsError('KEY_ROTATION_INVALID', why);

/** The statement in a JWS, not verified (for its maker, or to read a chain already verified). */
export function readKeyStatement(jws: string): KeyStatement {
  const part = jws.split('.')[1] ?? '';
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(base64urlDecode(part)));
  } catch {
    throw invalid('The statement is not a compact JWS with a JSON payload.');
  }
  const parsed = keyStatement.safeParse(raw);
  if (!parsed.success) throw invalid('The statement does not have the fields of a rotation or retirement.');
  return parsed.data;
}

/** Signs a key statement with a node's current key. */
export function signKeyStatement(statement: KeyStatement, key: Key, kid: string): Promise<string> {
  return signJson(statement, key, kid, KEY_STATEMENT_TYP);
}

/** The signer's key id and the unverified statement (to find the key that must verify it). */
export function peekKeyStatement(jws: string): { kid: string } {
  try {
    return { kid: peekJws(jws).kid };
  } catch {
    throw invalid('The statement is not a compact JWS.');
  }
}

/**
 * Verifies a statement signed by `signer` (a key of `node`) and fresh at `now` (unless `anyAge`, for a chain
 * read later). For a rotation with `proof`, also checks the new key's id and that it signed the same bytes.
 */
export async function verifyKeyStatement(
  jws: string,
  signer: { readonly kid: string; readonly key: Key },
  node: string,
  opts: { now: number; proof?: string; anyAge?: boolean },
): Promise<KeyStatement> {
  if (peekKeyStatement(jws).kid !== signer.kid)
    throw invalid(`The statement must be signed by ${signer.kid}.`);
  let raw: unknown;
  try {
    raw = await verifyJson(jws, signer.key, KEY_STATEMENT_TYP);
  } catch {
    throw invalid(`The statement does not verify with ${signer.kid}.`);
  }
  const parsed = keyStatement.safeParse(raw);
  if (!parsed.success) throw invalid('The statement does not have the fields of a rotation or retirement.');
  const s = parsed.data;
  if (s.node !== node) throw invalid(`The statement is about ${s.node}, not ${node}.`);
  if (
    !opts.anyAge &&
    (s.issuedAt < opts.now - KEY_STATEMENT_MAX_AGE_MS || s.issuedAt > opts.now + KEY_STATEMENT_MAX_AGE_MS)
  ) {
    throw invalid('The statement is too old or dated ahead; make a new one (check the node clock).');
  }
  if (s.action === 'rotate') {
    if (s.previous !== signer.kid)
      throw invalid(`A rotation replaces the key that signs it (${signer.kid}).`);
    if (!isEd25519Jwk(s.key)) throw invalid('The new key is not a public Ed25519 JWK.');
    if (s.kid !== (await signingKeyId(node, s.key))) throw invalid('The new key id is not its thumbprint.');
    if (opts.proof !== undefined) {
      if (peekKeyStatement(opts.proof).kid !== s.kid)
        throw invalid('The proof must be signed by the new key.');
      try {
        await verifyJson(opts.proof, await importSigningKey(publicPart(s.key)), KEY_STATEMENT_TYP);
      } catch {
        throw invalid('The proof does not verify with the new key: the sender does not hold it.');
      }
      if (opts.proof.split('.')[1] !== jws.split('.')[1]) {
        throw invalid('The proof signs another statement than the rotation.');
      }
    }
  }
  return s;
}

/**
 * The key a key id names among one node's keys (current first) at `now`: a bare node id names the current
 * key. Throws KEY_RETIRED for a key past its `until`; undefined for a key the list does not hold.
 */
export function pickKey<K extends { readonly kid: string; readonly until?: number | undefined }>(
  keys: readonly K[],
  kid: string,
  now: number,
): K | undefined {
  const k = kid.includes('#') ? keys.find((x) => x.kid === kid) : keys[0];
  if (k && !keyAccepted(k, now)) throw keyRetired(kid);
  return k;
}
