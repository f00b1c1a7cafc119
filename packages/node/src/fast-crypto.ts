/**
 * The JOSE operations of `@semops/protocol` on synchronous `node:crypto` instead of `jose` on WebCrypto
 * (promise and thread-pool dispatch, key re-checks and re-imports around the same OpenSSL calls): about 2.3×
 * less CPU to sign, 1.3× to verify (Ed25519 verification itself dominates) and 3.7× to encrypt or decrypt
 * (fast-crypto.bench.ts). Importing `@semops/node` installs it, so every node process (hub, processors, CLI)
 * uses it; browsers keep `jose`. `SEMOPS_CRYPTO=jose` keeps `jose` in Node too.
 *
 * The wire formats are those of `jose`, byte for byte: an EdDSA compact JWS `b64u(header).b64u(payload).sig`
 * with the header `{"alg":"EdDSA","kid":…,"typ":…}` (Ed25519 signatures are deterministic, so both make the
 * same token), and an ECDH-ES (X25519) + A256GCM compact JWE `b64u(header)..iv.ciphertext.tag` with the
 * header `{"alg":"ECDH-ES","enc":"A256GCM","epk":{"x":…,"crv":"X25519","kty":"OKP"}}`; the content key is
 * the Concat KDF (RFC 7518 §4.6, SHA-256) of the X25519 shared secret, the encoded header the GCM AAD.
 *
 * What it accepts is a subset of what `jose` accepts: everything `jose` refuses is refused, and a few things
 * no SEMOPS party makes are refused too (`crit`, `b64` other than true, `zip`, `apu`/`apv`, an `epk` with
 * other members than `kty`, `crv` and `x`, base64url that is padded, has other characters or is not
 * canonical: the unused low bits of the last character must be zero, so a token has one spelling).
 */
import {
  KeyObject,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign as edSign,
  verify as edVerify,
} from 'node:crypto';
import { setCryptoBackend, type CryptoBackend, type JwsHeader, type Key } from '@semops/protocol';

const SIGN_ALG = 'EdDSA';
const ENC_ALG = 'ECDH-ES';
const ENC_ENC = 'A256GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What a key must be for one operation; keys that passed are remembered with their `KeyObject`. */
interface KeySpec {
  readonly name: 'Ed25519' | 'X25519';
  readonly type: 'public' | 'private';
  /** The WebCrypto usage `jose` requires of a CryptoKey for this operation. */
  readonly usage?: KeyUsage;
  readonly cache: WeakMap<object, KeyObject>;
}

const SIGNING: KeySpec = { name: 'Ed25519', type: 'private', usage: 'sign', cache: new WeakMap() };
const VERIFYING: KeySpec = { name: 'Ed25519', type: 'public', usage: 'verify', cache: new WeakMap() };
const RECIPIENT: KeySpec = { name: 'X25519', type: 'public', cache: new WeakMap() };
const DECRYPTING: KeySpec = { name: 'X25519', type: 'private', usage: 'deriveBits', cache: new WeakMap() };

function isCryptoKey(key: unknown): key is CryptoKey {
  return (
    typeof key === 'object' &&
    key !== null &&
    (key as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'CryptoKey'
  );
}

/** The `KeyObject` of a CryptoKey (or KeyObject), after the same type, algorithm and usage checks as jose. */
function keyObject(key: Key, spec: KeySpec): KeyObject {
  const cached = spec.cache.get(key);
  if (cached) return cached;
  let converted: KeyObject;
  if (key instanceof KeyObject) {
    converted = key;
  } else if (isCryptoKey(key)) {
    if (key.type !== spec.type || key.algorithm.name !== spec.name) {
      throw new TypeError(`Expected a ${spec.type} ${spec.name} CryptoKey.`);
    }
    if (spec.usage !== undefined && !key.usages.includes(spec.usage)) {
      throw new TypeError(`The CryptoKey's usages must include ${spec.usage}.`);
    }
    converted = KeyObject.from(key);
  } else {
    throw new TypeError('Expected a CryptoKey or a KeyObject.');
  }
  if (converted.type !== spec.type || converted.asymmetricKeyType !== spec.name.toLowerCase()) {
    throw new TypeError(`Expected a ${spec.type} ${spec.name} key.`);
  }
  spec.cache.set(key, converted);
  return converted;
}

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64U = /^[A-Za-z0-9_-]*$/;

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Decodes unpadded, canonical base64url (the only spelling of the bytes); throws on anything else. */
export function decodeBase64url(text: string): Buffer {
  const rest = text.length % 4;
  if (rest === 1 || !B64U.test(text)) throw new Error('Not base64url.');
  // 2 or 3 trailing characters carry 1 or 2 bytes; the bits left over must be zero.
  if (
    rest !== 0 &&
    (B64U_ALPHABET.indexOf(text.charAt(text.length - 1)) & (rest === 2 ? 0x0f : 0x03)) !== 0
  ) {
    throw new Error('Not canonical base64url.');
  }
  return Buffer.from(text, 'base64url');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A protected header: base64url of UTF-8 JSON of an object, as jose parses it. */
function parseHeader(encoded: string): Record<string, unknown> {
  const header = JSON.parse(strictUtf8.decode(decodeBase64url(encoded))) as unknown;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error('The protected header is not a JSON object.');
  }
  return header as Record<string, unknown>;
}

/** The three or five parts of a compact serialization. */
function split(token: string, parts: 3 | 5): string[] {
  if (typeof token !== 'string') throw new Error('Not a compact serialization.');
  const result = token.split('.');
  if (result.length !== parts) throw new Error('Not a compact serialization.');
  return result;
}

function sign(payload: Uint8Array, header: JwsHeader, key: Key): string {
  const signingKey = keyObject(key, SIGNING);
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${b64u(payload)}`;
  return `${signingInput}.${edSign(null, Buffer.from(signingInput, 'latin1'), signingKey).toString('base64url')}`;
}

function verify(jws: string, key: Key): Uint8Array {
  const publicKey = keyObject(key, VERIFYING);
  const [header = '', payload = '', signature = ''] = split(jws, 3);
  const h = parseHeader(header);
  if (h.alg !== SIGN_ALG) throw new Error('The JWS alg is not EdDSA.');
  if (Object.hasOwn(h, 'crit')) throw new Error('No JWS extension is supported.');
  if (Object.hasOwn(h, 'b64') && h.b64 !== true) throw new Error('The JWS payload must be base64url.');
  const sig = decodeBase64url(signature);
  const body = decodeBase64url(payload);
  // header and payload are base64url (ASCII) by now, so latin1 gives the signed bytes.
  if (sig.length !== 64 || !edVerify(null, Buffer.from(`${header}.${payload}`, 'latin1'), publicKey, sig)) {
    throw new Error('The JWS signature does not verify.');
  }
  return body;
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Round 1 of the Concat KDF: counter 1, then (after Z) AlgorithmID, PartyUInfo, PartyVInfo, SuppPubInfo. */
const KDF_COUNTER = uint32(1);
const KDF_OTHER_INFO = Buffer.concat([
  uint32(ENC_ENC.length),
  Buffer.from(ENC_ENC, 'ascii'),
  uint32(0),
  uint32(0),
  uint32(256),
]);

/** The A256GCM content key of ECDH-ES (direct key agreement) from the X25519 shared secret. */
function contentKey(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  const z = diffieHellman({ privateKey, publicKey }); // throws on an all-zero secret (small-order point)
  return createHash('sha256').update(KDF_COUNTER).update(z).update(KDF_OTHER_INFO).digest();
}

/**
 * The JWE of `encrypt` with a given ephemeral X25519 private key and IV (tests compare it with jose's output
 * for the same inputs; never reuse either).
 */
export function encryptWith(
  plaintext: Uint8Array,
  recipientPublicKey: Key,
  ephemeralPrivateKey: KeyObject,
  iv: Uint8Array,
): string {
  const recipient = keyObject(recipientPublicKey, RECIPIENT);
  if (ephemeralPrivateKey.type !== 'private' || ephemeralPrivateKey.asymmetricKeyType !== 'x25519') {
    throw new TypeError('The ephemeral key must be an X25519 private key.');
  }
  if (iv.byteLength !== IV_BYTES) throw new TypeError('The IV must be 12 bytes.');
  const { x } = createPublicKey(ephemeralPrivateKey).export({ format: 'jwk' });
  return seal(plaintext, recipient, ephemeralPrivateKey, x, iv);
}

function seal(
  plaintext: Uint8Array,
  recipient: KeyObject,
  ephemeral: KeyObject,
  x: string | undefined,
  iv: Uint8Array,
): string {
  if (typeof x !== 'string') throw new Error('The ephemeral public key has no x.');
  const header = Buffer.from(
    JSON.stringify({ alg: ENC_ALG, enc: ENC_ENC, epk: { x, crv: 'X25519', kty: 'OKP' } }),
  ).toString('base64url');
  const cipher = createCipheriv('aes-256-gcm', contentKey(ephemeral, recipient), iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(Buffer.from(header, 'latin1'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `${header}..${b64u(iv)}.${b64u(ciphertext)}.${b64u(cipher.getAuthTag())}`;
}

/**
 * How long one ephemeral key serves the messages to one recipient. Every message still gets a fresh random
 * IV under the agreed content key; rotating the key bounds what one leaked in-memory key could open to a
 * minute of messages, and the count keeps far below AES-GCM's limit for random IVs under one key.
 */
export const EPHEMERAL_KEY_TTL_MS = 60_000;
const EPHEMERAL_KEY_MAX_USES = 100_000;

interface SenderState {
  readonly header: string;
  readonly cek: Buffer;
  readonly until: number;
  uses: number;
}
/** Per recipient key: the ephemeral key agreement in use (saves a key pair and an X25519 per message). */
const senders = new WeakMap<KeyObject, SenderState>();

function encrypt(plaintext: Uint8Array, recipientPublicKey: Key): string {
  const recipient = keyObject(recipientPublicKey, RECIPIENT);
  let st = senders.get(recipient);
  if (st === undefined || st.uses >= EPHEMERAL_KEY_MAX_USES || Date.now() >= st.until) {
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const { x } = publicKey.export({ format: 'jwk' });
    st = {
      header: Buffer.from(
        JSON.stringify({ alg: ENC_ALG, enc: ENC_ENC, epk: { x, crv: 'X25519', kty: 'OKP' } }),
      ).toString('base64url'),
      cek: contentKey(privateKey, recipient),
      until: Date.now() + EPHEMERAL_KEY_TTL_MS,
      uses: 0,
    };
    senders.set(recipient, st);
  }
  st.uses += 1;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', st.cek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(st.header, 'latin1'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `${st.header}..${b64u(iv)}.${b64u(ciphertext)}.${b64u(cipher.getAuthTag())}`;
}

/** Per private key: content keys of recent ephemeral keys (by the protected header that carries them). */
const receivers = new WeakMap<KeyObject, Map<string, Buffer>>();
const RECEIVER_CACHE_SIZE = 512;

/** The content key for a JWE header's ephemeral key, from the cache or by key agreement. */
function receivedContentKey(key: KeyObject, header: string, epk: unknown): Buffer {
  let cache = receivers.get(key);
  if (cache === undefined) {
    cache = new Map();
    receivers.set(key, cache);
  }
  const known = cache.get(header);
  if (known !== undefined) return known;
  const cek = contentKey(key, ephemeralKey(epk));
  if (cache.size >= RECEIVER_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(header, cek);
  return cek;
}

/** The ephemeral public key of a JWE header: exactly `{ kty: 'OKP', crv: 'X25519', x }` with a 32-byte x. */
function ephemeralKey(epk: unknown): KeyObject {
  const k = epk as Record<string, unknown> | null;
  if (
    typeof k !== 'object' ||
    k === null ||
    Array.isArray(k) ||
    Object.keys(k).length !== 3 ||
    k.kty !== 'OKP' ||
    k.crv !== 'X25519' ||
    typeof k.x !== 'string' ||
    k.x.length !== 43 ||
    decodeBase64url(k.x).length !== 32
  ) {
    throw new Error('The JWE epk is not an X25519 public key.');
  }
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: k.x }, format: 'jwk' });
}

function decrypt(jwe: string, privateKey: Key): Uint8Array {
  const key = keyObject(privateKey, DECRYPTING);
  const [header = '', encryptedKey, iv64 = '', ciphertext64 = '', tag64 = ''] = split(jwe, 5);
  const h = parseHeader(header);
  if (h.alg !== ENC_ALG || h.enc !== ENC_ENC) throw new Error('The JWE is not ECDH-ES with A256GCM.');
  for (const name of ['crit', 'zip', 'apu', 'apv']) {
    if (Object.hasOwn(h, name)) throw new Error(`The JWE header member ${name} is not supported.`);
  }
  if (encryptedKey !== '') throw new Error('ECDH-ES has no encrypted key.');
  const iv = decodeBase64url(iv64);
  const tag = decodeBase64url(tag64);
  const ciphertext = decodeBase64url(ciphertext64);
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('Wrong JWE IV or tag length.');
  const decipher = createDecipheriv('aes-256-gcm', receivedContentKey(key, header, h.epk), iv, {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(Buffer.from(header, 'latin1'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]); // final() throws on a bad tag
}

/** The `node:crypto` backend of the `@semops/protocol` JOSE operations. */
export const nodeCryptoBackend = {
  name: 'node:crypto',
  sign,
  verify,
  encrypt,
  decrypt,
} satisfies CryptoBackend;

/**
 * Makes `signJson`, `verifyJson`, `encryptJson` and `decryptJson` use `node:crypto` in this process, unless
 * `SEMOPS_CRYPTO=jose`. Returns whether it did. Importing `@semops/node` calls it.
 */
export function installFastCrypto(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.SEMOPS_CRYPTO === 'jose') return false;
  setCryptoBackend(nodeCryptoBackend);
  return true;
}
