/**
 * Signing (Ed25519 JWS) and encryption (X25519 ECDH-ES JWE), the same code in Node and browsers. The four
 * JOSE operations go through a `CryptoBackend`: `jose` (WebCrypto) by default, and in Node processes the
 * synchronous `node:crypto` one that `@semops/node` installs (same wire format, about half the CPU).
 */
import {
  CompactEncrypt,
  CompactSign,
  compactDecrypt,
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { SemopsError } from './errors.js';

export type { JWK };
export type Key = CryptoKey;

const SIGN_ALG = 'EdDSA';
const ENC_ALG = 'ECDH-ES';
const ENC_ENC = 'A256GCM';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The protected header of a JWS made by `signJson`, serialized in this member order. */
export type JwsHeader = { readonly alg: 'EdDSA'; readonly kid: string; readonly typ: string };

/**
 * The JOSE operations behind `signJson`, `verifyJson`, `encryptJson` and `decryptJson`. Every backend
 * makes and accepts the same compact serializations byte for byte (EdDSA JWS with the header
 * `{ alg, kid, typ }`; JWE with the header `{ alg: 'ECDH-ES', enc: 'A256GCM', epk }` and no encrypted key),
 * and throws on anything `jose` would refuse. The callers map failures to `SemopsError`s.
 */
export interface CryptoBackend {
  readonly name: string;
  /** Compact JWS of `payload` with the protected header `header`. */
  sign(payload: Uint8Array, header: JwsHeader, key: Key): Promise<string> | string;
  /** Verifies an EdDSA compact JWS with an Ed25519 public key and returns its payload; throws otherwise. */
  verify(jws: string, key: Key): Promise<Uint8Array> | Uint8Array;
  /** Compact JWE (ECDH-ES with X25519, A256GCM) of `plaintext` to a recipient's X25519 public key. */
  encrypt(plaintext: Uint8Array, recipientPublicKey: Key): Promise<string> | string;
  /** Decrypts a compact JWE made by `encrypt` with the X25519 private key; throws on any failure. */
  decrypt(jwe: string, privateKey: Key): Promise<Uint8Array> | Uint8Array;
}

/** The portable backend: `jose` on WebCrypto (browsers, and Node until a faster one is installed). */
export const joseBackend: CryptoBackend = {
  name: 'jose',
  sign: (payload, header, key) => new CompactSign(payload).setProtectedHeader(header).sign(key),
  verify: async (jws, key) => (await compactVerify(jws, key, { algorithms: [SIGN_ALG] })).payload,
  encrypt: (plaintext, key) =>
    new CompactEncrypt(plaintext).setProtectedHeader({ alg: ENC_ALG, enc: ENC_ENC }).encrypt(key),
  decrypt: async (jwe, key) =>
    (
      await compactDecrypt(jwe, key, {
        keyManagementAlgorithms: [ENC_ALG],
        contentEncryptionAlgorithms: [ENC_ENC],
      })
    ).plaintext,
};

let backend: CryptoBackend = joseBackend;

/** Replaces the backend of the JOSE operations (for the whole process) and returns the previous one. */
export function setCryptoBackend(next: CryptoBackend): CryptoBackend {
  const previous = backend;
  backend = next;
  return previous;
}

/** The backend in use. */
export function cryptoBackend(): CryptoBackend {
  return backend;
}

/** A node's or device's key pair in JWK form (private JWK holds `d`). */
export interface KeyPairJwk {
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
}

/** Generates an Ed25519 signing key pair, exported as JWKs. */
export async function generateSigningKeys(): Promise<KeyPairJwk> {
  const { publicKey, privateKey } = await generateKeyPair(SIGN_ALG, { crv: 'Ed25519', extractable: true });
  return { publicJwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}

/** Generates an X25519 key-agreement pair for JWE, exported as JWKs. */
export async function generateEncryptionKeys(): Promise<KeyPairJwk> {
  const { publicKey, privateKey } = await generateKeyPair(ENC_ALG, { crv: 'X25519', extractable: true });
  return { publicJwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}

/** True when `jwk` is a public (or private) Ed25519 OKP key. */
export function isEd25519Jwk(jwk: unknown): jwk is JWK {
  const k = jwk as JWK | null;
  return (
    typeof k === 'object' &&
    k !== null &&
    k.kty === 'OKP' &&
    k.crv === 'Ed25519' &&
    typeof k.x === 'string' &&
    /^[A-Za-z0-9_-]{43}$/.test(k.x)
  );
}

/** True when `jwk` is an X25519 OKP key. */
export function isX25519Jwk(jwk: unknown): jwk is JWK {
  const k = jwk as JWK | null;
  return (
    typeof k === 'object' && k !== null && k.kty === 'OKP' && k.crv === 'X25519' && typeof k.x === 'string'
  );
}

/** Imports an Ed25519 JWK (public for verifying, private for signing). */
export async function importSigningKey(jwk: JWK): Promise<Key> {
  return (await importJWK(jwk, SIGN_ALG)) as Key;
}

/** Imports an X25519 JWK (public for encrypting, private for decrypting). */
export async function importEncryptionKey(jwk: JWK): Promise<Key> {
  return (await importJWK(jwk, ENC_ALG)) as Key;
}

/** Public part of an OKP JWK. */
export function publicPart(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
}

/**
 * Signs a JSON payload as a compact JWS with EdDSA.
 * @example const jws = await signJson({ hello: 1 }, key, 'bank-a', 'semops-request+jws');
 */
export async function signJson(payload: unknown, key: Key, kid: string, typ: string): Promise<string> {
  return backend.sign(encoder.encode(JSON.stringify(payload)), { alg: SIGN_ALG, kid, typ }, key);
}

/** Longest compact JWS accepted from a customer or merchant (approvals, tokens, receipts). */
export const MAX_JWS_LENGTH = 65_536;
/** Longest node-to-node message: a batch of up to 500 prepares or notifications with their sealed receipts. */
export const MAX_MESSAGE_LENGTH = 4 * 1024 * 1024;

/** Reads the `kid` and `typ` of a compact JWS without verifying it (to pick the key). */
export function peekJws(jws: string, maxLength: number = MAX_JWS_LENGTH): { kid: string; typ: string } {
  if (typeof jws !== 'string' || jws.length > maxLength || jws.split('.').length !== 3) {
    throw new SemopsError('MESSAGE_MALFORMED', 'Not a compact JWS.');
  }
  try {
    const h = decodeProtectedHeader(jws);
    if (typeof h.kid !== 'string' || typeof h.typ !== 'string' || h.alg !== SIGN_ALG) {
      throw new SemopsError('MESSAGE_MALFORMED', 'The JWS header needs alg EdDSA, kid and typ.');
    }
    return { kid: h.kid, typ: h.typ };
  } catch (e) {
    if (e instanceof SemopsError) throw e;
    throw new SemopsError('MESSAGE_MALFORMED', 'The JWS header is not valid base64url JSON.');
  }
}

/**
 * Verifies a compact JWS and returns its JSON payload. Throws `SIGNATURE_INVALID` when the signature does
 * not verify, `MESSAGE_MALFORMED` when the payload is not JSON or the typ differs.
 */
export async function verifyJson(
  jws: string,
  key: Key,
  typ: string,
  maxLength: number = MAX_JWS_LENGTH,
): Promise<unknown> {
  const { typ: actual } = peekJws(jws, maxLength);
  if (actual !== typ) throw new SemopsError('MESSAGE_MALFORMED', `Expected a ${typ}, got ${actual}.`);
  let payload: Uint8Array;
  try {
    payload = await backend.verify(jws, key);
  } catch {
    throw new SemopsError('SIGNATURE_INVALID');
  }
  try {
    return JSON.parse(decoder.decode(payload)) as unknown;
  } catch {
    throw new SemopsError('MESSAGE_MALFORMED', 'The signed payload is not JSON.');
  }
}

/** Encrypts a JSON value to a recipient's X25519 public key (compact JWE, ECDH-ES + A256GCM). */
export async function encryptJson(payload: unknown, recipientPublicKey: Key): Promise<string> {
  return backend.encrypt(encoder.encode(JSON.stringify(payload)), recipientPublicKey);
}

/** Decrypts a compact JWE made by `encryptJson`. Throws `MESSAGE_MALFORMED` on any failure. */
export async function decryptJson(jwe: string, privateKey: Key): Promise<unknown> {
  if (typeof jwe !== 'string' || jwe.length > 65_536 || jwe.split('.').length !== 5) {
    throw new SemopsError('MESSAGE_MALFORMED', 'Not a compact JWE.');
  }
  try {
    const plaintext = await backend.decrypt(jwe, privateKey);
    return JSON.parse(decoder.decode(plaintext)) as unknown;
  } catch {
    throw new SemopsError('MESSAGE_MALFORMED', 'The encrypted part cannot be decrypted with this node key.');
  }
}
