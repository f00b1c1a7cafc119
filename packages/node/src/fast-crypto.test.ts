import {
  KeyObject,
  createCipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign as edSign,
} from 'node:crypto';
import fc from 'fast-check';
import { CompactEncrypt, generateKeyPair } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  SemopsError,
  cryptoBackend,
  decryptJson,
  encryptJson,
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  joseBackend,
  publicPart,
  setCryptoBackend,
  signJson,
  verifyJson,
  type CryptoBackend,
  type JwsHeader,
  type Key,
} from '@semops/protocol';
import { decodeBase64url, encryptWith, installFastCrypto, nodeCryptoBackend } from './fast-crypto.js';

const fast = nodeCryptoBackend;
const jose = joseBackend;
const TYP = 'semops-msg+jws';
const header = (kid = 'bank-a', typ = TYP): JwsHeader => ({ alg: 'EdDSA', kid, typ });
const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
const utf8 = (s: string) => new TextEncoder().encode(s);

interface Keys {
  sign: Key;
  verify: Key;
  otherVerify: Key;
  encPub: Key;
  encPriv: Key;
  otherEncPriv: Key;
}
let k: Keys;

beforeAll(async () => {
  const [s, o, e, oe] = await Promise.all([
    generateSigningKeys(),
    generateSigningKeys(),
    generateEncryptionKeys(),
    generateEncryptionKeys(),
  ]);
  k = {
    sign: await importSigningKey(s.privateJwk),
    verify: await importSigningKey(publicPart(s.publicJwk)),
    otherVerify: await importSigningKey(publicPart(o.publicJwk)),
    encPub: await importEncryptionKey(publicPart(e.publicJwk)),
    encPriv: await importEncryptionKey(e.privateJwk),
    otherEncPriv: await importEncryptionKey(oe.privateJwk),
  };
});

const previous = cryptoBackend();
afterEach(() => {
  setCryptoBackend(previous);
});

/** 'OK' or what the backend threw (any throw counts as a refusal). */
async function outcome(p: () => unknown): Promise<'OK' | 'REFUSED'> {
  try {
    await p();
    return 'OK';
  } catch {
    return 'REFUSED';
  }
}

/** 'OK' or the SemopsError code of a public function. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof SemopsError) return e.code;
    throw e;
  }
}

/** Runs a public protocol function with the given backend installed. */
async function withBackend<T>(backend: CryptoBackend, run: () => Promise<T>): Promise<T> {
  const before = setCryptoBackend(backend);
  try {
    return await run();
  } finally {
    setCryptoBackend(before);
  }
}

/** A JWS with any header (or header text), validly signed with the test key. */
function signRaw(protectedHeader: unknown, payload: Uint8Array | string, key = k.sign): string {
  const h = typeof protectedHeader === 'string' ? protectedHeader : b64u(JSON.stringify(protectedHeader));
  const input = `${h}.${b64u(payload)}`;
  const sig = edSign(null, Buffer.from(input), KeyObject.from(key));
  return `${input}.${sig.toString('base64url')}`;
}

/** A JWE with any header, correctly sealed (ECDH-ES Concat KDF for `kdfEnc`, AES-GCM) to the test key. */
function sealRaw(
  protectedHeader: Record<string, unknown>,
  plaintext: Uint8Array,
  opts: {
    iv?: Buffer;
    tagBytes?: number;
    encryptedKey?: string;
    kdfEnc?: string;
    ephemeral?: KeyObject;
  } = {},
): string {
  const ephemeral = opts.ephemeral ?? generateKeyPairSync('x25519').privateKey;
  const epk = { x: createPublicKey(ephemeral).export({ format: 'jwk' }).x, crv: 'X25519', kty: 'OKP' };
  const h = b64u(JSON.stringify({ epk, ...protectedHeader }));
  const z = diffieHellman({
    privateKey: ephemeral,
    publicKey: KeyObject.from(k.encPub),
  });
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const algId = Buffer.from(opts.kdfEnc ?? 'A256GCM');
  const party = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64url') : Buffer.alloc(0));
  const [apu, apv] = [party(protectedHeader.apu), party(protectedHeader.apv)];
  const otherInfo = Buffer.concat([
    u32(algId.length),
    algId,
    u32(apu.length),
    apu,
    u32(apv.length),
    apv,
    u32(256),
  ]);
  const cek = createHash('sha256').update(u32(1)).update(z).update(otherInfo).digest();
  const iv = opts.iv ?? randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv, { authTagLength: opts.tagBytes ?? 16 });
  cipher.setAAD(Buffer.from(h));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `${h}.${opts.encryptedKey ?? ''}.${b64u(iv)}.${b64u(ct)}.${b64u(cipher.getAuthTag())}`;
}

/** The same token with every part re-encoded canonically (undoes a non-canonical spelling). */
function canonical(token: string): string {
  return token
    .split('.')
    .map((part) => {
      try {
        return Buffer.from(part, 'base64url').toString('base64url');
      } catch {
        return part;
      }
    })
    .join('.');
}

const B64U_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Replaces the character at `index` by another base64url character (or '.', '=', ' ', '+'). */
const mutation = fc.record({
  at: fc.nat(),
  by: fc.constantFrom(...B64U_CHARS, '.', '=', ' ', '+', '/'),
});
function mutate(token: string, m: { at: number; by: string }): string {
  const i = m.at % token.length;
  return token.slice(0, i) + m.by + token.slice(i + 1);
}

describe('node:crypto JWS', () => {
  it('signs byte for byte like jose (deterministic Ed25519), for any payload, kid and typ', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.string(), fc.string(), async (p, kid, typ) => {
        expect(fast.sign(p, header(kid, typ), k.sign)).toBe(await jose.sign(p, header(kid, typ), k.sign));
      }),
      { numRuns: 200 },
    );
  });

  it('verifies what jose signs and jose verifies what it signs, for any JSON payload', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const byJose = await withBackend(jose, () => signJson(value, k.sign, 'bank-a', TYP));
        const byFast = await withBackend(fast, () => signJson(value, k.sign, 'bank-a', TYP));
        const expected = JSON.parse(JSON.stringify(value)) as unknown;
        expect(await withBackend(fast, () => verifyJson(byJose, k.verify, TYP))).toEqual(expected);
        expect(await withBackend(jose, () => verifyJson(byFast, k.verify, TYP))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a tampered payload, header or signature and a wrong key, with the codes jose gives', async () => {
    const jws = signRaw(header(), utf8('{"amount":"10"}'));
    const [h = '', p = '', s = ''] = jws.split('.');
    const cases = {
      payload: `${h}.${b64u('{"amount":"99"}')}.${s}`,
      header: `${b64u(JSON.stringify(header('bank-b')))}.${p}.${s}`,
      signatureBit: `${h}.${p}.${b64u(decodeBase64url(s).map((b, i) => (i === 10 ? b ^ 1 : b)))}`,
      shortSignature: `${h}.${p}.${s.slice(0, 80)}`,
      longSignature: `${h}.${p}.${b64u(Buffer.concat([decodeBase64url(s), Buffer.from([0])]))}`,
      noSignature: `${h}.${p}.`,
      fourParts: `${jws}.${s}`,
      typ: signRaw(header('bank-a', 'semops-receipt+jws'), utf8('{}')),
      notJson: signRaw(header(), utf8('not json')),
      notString: 42 as unknown as string,
      huge: signRaw(header(), utf8(JSON.stringify('x'.repeat(70_000)))),
    };
    const expected = {
      payload: 'SIGNATURE_INVALID',
      header: 'SIGNATURE_INVALID',
      signatureBit: 'SIGNATURE_INVALID',
      shortSignature: 'SIGNATURE_INVALID',
      longSignature: 'SIGNATURE_INVALID',
      noSignature: 'SIGNATURE_INVALID',
      fourParts: 'MESSAGE_MALFORMED',
      typ: 'MESSAGE_MALFORMED',
      notJson: 'MESSAGE_MALFORMED',
      notString: 'MESSAGE_MALFORMED',
      huge: 'MESSAGE_MALFORMED',
    };
    for (const [name, token] of Object.entries(cases)) {
      const code = expected[name as keyof typeof expected];
      expect([name, await withBackend(jose, () => codeOf(verifyJson(token, k.verify, TYP)))]).toEqual([
        name,
        code,
      ]);
      expect([name, await withBackend(fast, () => codeOf(verifyJson(token, k.verify, TYP)))]).toEqual([
        name,
        code,
      ]);
    }
    for (const backend of [jose, fast]) {
      await withBackend(backend, async () => {
        expect(await codeOf(verifyJson(jws, k.verify, TYP))).toBe('OK');
        expect(await codeOf(verifyJson(jws, k.otherVerify, TYP))).toBe('SIGNATURE_INVALID');
        expect(await codeOf(verifyJson(jws, k.sign, TYP))).toBe('SIGNATURE_INVALID'); // a private key
        expect(await codeOf(verifyJson(jws, k.encPub, TYP))).toBe('SIGNATURE_INVALID'); // an X25519 key
        await expect(signJson({}, k.verify, 'bank-a', TYP)).rejects.toThrow(TypeError); // a public key
        await expect(signJson({}, k.encPriv, 'bank-a', TYP)).rejects.toThrow(TypeError);
      });
    }
  });

  it('refuses the headers jose refuses (other alg, crit, not an object, bad UTF-8) and b64 false', async () => {
    const refusedByBoth = [
      signRaw({ alg: 'ES256', kid: 'bank-a', typ: TYP }, '{}'),
      signRaw({ alg: 'Ed25519', kid: 'bank-a', typ: TYP }, '{}'),
      signRaw({ alg: 'none', kid: 'bank-a', typ: TYP }, '{}'),
      signRaw({ kid: 'bank-a', typ: TYP }, '{}'),
      signRaw({ ...header(), crit: ['exp'], exp: 1 }, '{}'),
      signRaw({ ...header(), crit: [] }, '{}'),
      signRaw({ ...header(), crit: 'b64' }, '{}'),
      signRaw(['EdDSA'], '{}'),
      signRaw(b64u('null'), '{}'),
      signRaw(b64u(Buffer.from([0x7b, 0xff, 0x7d])), '{}'), // {\xff}
    ];
    for (const token of refusedByBoth) {
      expect([token, await outcome(() => jose.verify(token, k.verify))]).toEqual([token, 'REFUSED']);
      expect([token, await outcome(() => fast.verify(token, k.verify))]).toEqual([token, 'REFUSED']);
    }
    // Never made by SEMOPS parties; jose accepts them, the fast path refuses them. (jose verifies b64 false
    // over the payload part as it is, here the same bytes as base64url, and returns it undecoded.)
    const refusedByFast = [
      signRaw({ ...header(), crit: ['b64'], b64: false }, '{}'),
      signRaw({ ...header(), crit: ['b64'], b64: true }, '{}'),
      signRaw({ ...header(), b64: false }, '{}'),
      signRaw(`${b64u(JSON.stringify(header()))}=`, '{}'), // a padded header (jose decodes leniently)
    ];
    for (const token of refusedByFast) {
      expect(await outcome(() => jose.verify(token, k.verify))).toBe('OK');
      expect(await outcome(() => fast.verify(token, k.verify))).toBe('REFUSED');
    }
  });

  it('accepts one spelling only: non-canonical, padded or whitespace base64url is refused', async () => {
    const jws = signRaw(header(), utf8('{"a":1}')); // 64-byte signature: 86 characters, 4 spare bits
    const [h = '', p = '', s = ''] = jws.split('.');
    const last = B64U_CHARS.indexOf(s.charAt(85));
    const respelled = `${h}.${p}.${s.slice(0, 85)}${B64U_CHARS.charAt(last ^ 1)}`;
    expect(Buffer.from(respelled.split('.')[2] ?? '', 'base64url')).toEqual(decodeBase64url(s));
    for (const token of [respelled, `${jws}==`, `${h}.${p}.${s.slice(0, 40)} ${s.slice(40)}`]) {
      expect(await outcome(() => fast.verify(token, k.verify))).toBe('REFUSED');
    }
    expect(decodeBase64url('QQ')).toEqual(Buffer.from('A'));
    expect(decodeBase64url('QUI')).toEqual(Buffer.from('AB'));
    for (const bad of ['QR', 'QUJ', 'QUK', 'Q', 'QQ==', 'Q+', 'Q/', 'Q Q', 'QQ\n']) {
      expect(() => decodeBase64url(bad)).toThrow();
    }
  });

  it('never accepts a one-character change that jose refuses (property)', async () => {
    const jws = signRaw(header(), utf8('{"amount":"10","to":"bank-b"}'));
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const token = mutate(jws, m);
        const byJose = await outcome(() => jose.verify(token, k.verify));
        const byFast = await outcome(() => fast.verify(token, k.verify));
        if (byFast === 'OK') expect(byJose).toBe('OK');
        // Where jose accepts a changed token, it is only a respelling of the same bytes, which we refuse.
        if (byJose === 'OK' && token !== jws) {
          expect(byFast).toBe('REFUSED');
          expect(canonical(token.replace(/[ =]/g, ''))).toBe(jws);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('node:crypto JWE', () => {
  it('shares one ephemeral key per recipient for a while, each message with its own IV, and jose reads them', async () => {
    const other = await generateEncryptionKeys();
    const otherPub = await importEncryptionKey(publicPart(other.publicJwk));
    const [a, b] = await withBackend(fast, async () => [
      await encryptJson({ n: 1 }, k.encPub),
      await encryptJson({ n: 2 }, k.encPub),
    ]);
    const toOther = await withBackend(fast, () => encryptJson({ n: 3 }, otherPub));
    const [ha, , ivA] = a.split('.');
    const [hb, , ivB] = b.split('.');
    expect(hb).toBe(ha);
    expect(ivB).not.toBe(ivA);
    expect(toOther.split('.')[0]).not.toBe(ha);
    expect(await withBackend(jose, () => decryptJson(a, k.encPriv))).toEqual({ n: 1 });
    expect(await withBackend(jose, () => decryptJson(b, k.encPriv))).toEqual({ n: 2 });
    // The receiver's cached content key still checks every tag.
    expect(await withBackend(fast, () => decryptJson(b, k.encPriv))).toEqual({ n: 2 });
    const parts = b.split('.');
    const tampered = [...parts.slice(0, 3), `${parts[3]!.slice(0, -2)}AA`, parts[4]].join('.');
    expect(await codeOf(withBackend(fast, () => decryptJson(tampered, k.encPriv)))).toBe('MESSAGE_MALFORMED');
  });

  it('encrypts byte for byte like jose for the same ephemeral key and IV', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (plaintext) => {
        const { privateKey } = await generateKeyPair('ECDH-ES', { crv: 'X25519', extractable: true });
        const iv = randomBytes(12);
        const byJose = await new CompactEncrypt(plaintext)
          .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM' })
          .setKeyManagementParameters({ epk: privateKey })
          .setInitializationVector(iv)
          .encrypt(k.encPub);
        const ephemeral = KeyObject.from(privateKey);
        expect(encryptWith(plaintext, k.encPub, ephemeral, iv)).toBe(byJose);
      }),
      { numRuns: 100 },
    );
  });

  it('decrypts what jose encrypts and jose decrypts what it encrypts, for any payload', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const byJose = await withBackend(jose, () => encryptJson(value, k.encPub));
        const byFast = await withBackend(fast, () => encryptJson(value, k.encPub));
        expect(byFast.split('.').map((part) => part.length)).toEqual(byJose.split('.').map((p) => p.length));
        const expected = JSON.parse(JSON.stringify(value)) as unknown;
        expect(await withBackend(fast, () => decryptJson(byJose, k.encPriv))).toEqual(expected);
        expect(await withBackend(jose, () => decryptJson(byFast, k.encPriv))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
    const bytes = randomBytes(5000);
    expect(fast.decrypt(await jose.encrypt(bytes, k.encPub), k.encPriv)).toEqual(bytes);
    expect(await jose.decrypt(fast.encrypt(new Uint8Array(), k.encPub), k.encPriv)).toEqual(new Uint8Array());
  });

  it('refuses a tampered token and a wrong key as jose does', async () => {
    const jwe = fast.encrypt(utf8('{"pin":"1234"}'), k.encPub);
    const [h = '', , iv = '', ct = '', tag = ''] = jwe.split('.');
    const flip = (part: string, i = 0) => b64u(decodeBase64url(part).map((b, j) => (j === i ? b ^ 1 : b)));
    const cases = [
      `${flip(h, 5)}..${iv}.${ct}.${tag}`,
      `${h}..${flip(iv)}.${ct}.${tag}`,
      `${h}..${iv}.${flip(ct)}.${tag}`,
      `${h}..${iv}.${ct}.${flip(tag, 15)}`,
      `${h}..${iv}.${ct}.${tag.slice(0, 16)}`, // 12-byte tag
      `${h}..${iv}.${ct}.`,
      `${h}..${iv}..${tag}`,
      `${h}...${ct}.${tag}`,
      `${h}.${b64u(randomBytes(40))}.${iv}.${ct}.${tag}`,
      `${h}..${iv}.${ct}`,
      `${jwe}.`,
      'not a jwe',
    ];
    for (const token of cases) {
      for (const backend of [jose, fast]) {
        expect([
          backend.name,
          token,
          await withBackend(backend, () => codeOf(decryptJson(token, k.encPriv))),
        ]).toEqual([backend.name, token, 'MESSAGE_MALFORMED']);
      }
    }
    for (const backend of [jose, fast]) {
      await withBackend(backend, async () => {
        expect(await codeOf(decryptJson(jwe, k.encPriv))).toBe('OK');
        expect(await codeOf(decryptJson(jwe, k.otherEncPriv))).toBe('MESSAGE_MALFORMED');
        expect(await codeOf(decryptJson(jwe, k.encPub))).toBe('MESSAGE_MALFORMED'); // a public key
        expect(await codeOf(decryptJson(jwe, k.sign))).toBe('MESSAGE_MALFORMED'); // an Ed25519 key
        await expect(encryptJson({}, k.encPriv)).rejects.toThrow(); // a private key
        await expect(encryptJson({}, k.verify)).rejects.toThrow(); // an Ed25519 key
      });
    }
  });

  it('refuses the headers and sizes jose refuses, even when correctly sealed', async () => {
    const pt = utf8('{"pin":"1234"}');
    const good = sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM' }, pt);
    expect(await outcome(() => jose.decrypt(good, k.encPriv))).toBe('OK');
    expect(fast.decrypt(good, k.encPriv)).toEqual(Buffer.from(pt));
    const zero = { x: b64u(Buffer.alloc(32)), crv: 'X25519', kty: 'OKP' };
    const refusedByBoth = [
      sealRaw({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }, pt),
      sealRaw({ alg: 'dir', enc: 'A256GCM' }, pt),
      sealRaw({ enc: 'A256GCM' }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A128GCM' }, pt, { kdfEnc: 'A128GCM' }),
      sealRaw({ alg: 'ECDH-ES' }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', crit: ['exp'], exp: 1 }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', zip: 'XYZ' }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM' }, pt, { iv: randomBytes(16) }),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM' }, pt, { iv: randomBytes(8) }),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM' }, pt, { tagBytes: 12 }),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM' }, pt, { encryptedKey: b64u(randomBytes(32)) }),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', epk: zero }, pt), // a small-order point
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', epk: { ...zero, crv: 'X448' } }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', epk: { ...zero, kty: 'EC' } }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', epk: { ...zero, x: b64u(randomBytes(31)) } }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', epk: 'key' }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', epk: undefined }, pt),
    ];
    for (const token of refusedByBoth) {
      expect([token, await outcome(() => jose.decrypt(token, k.encPriv))]).toEqual([token, 'REFUSED']);
      expect([token, await outcome(() => fast.decrypt(token, k.encPriv))]).toEqual([token, 'REFUSED']);
    }
    // An epk carrying its private part.
    const { privateKey } = generateKeyPairSync('x25519');
    const withD = sealRaw(
      { alg: 'ECDH-ES', enc: 'A256GCM', epk: { ...privateKey.export({ format: 'jwk' }) } },
      pt,
      { ephemeral: privateKey },
    );
    expect(await outcome(() => jose.decrypt(withD, k.encPriv))).toBe('REFUSED');
    expect(await outcome(() => fast.decrypt(withD, k.encPriv))).toBe('REFUSED');
    // Never made by SEMOPS parties; jose accepts them, the fast path refuses them.
    const ephemeral = generateKeyPairSync('x25519').privateKey;
    const epk = { ...createPublicKey(ephemeral).export({ format: 'jwk' }), kid: 'e' };
    const refusedByFast = [
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', zip: 'DEF' }, new Uint8Array([3, 0])), // deflate of ''
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', apu: b64u('a'), apv: b64u('b') }, pt),
      sealRaw({ alg: 'ECDH-ES', enc: 'A256GCM', epk }, pt, { ephemeral }),
    ];
    for (const token of refusedByFast) {
      expect(await outcome(() => jose.decrypt(token, k.encPriv))).toBe('OK');
      expect(await outcome(() => fast.decrypt(token, k.encPriv))).toBe('REFUSED');
    }
  });

  it('never accepts a one-character change that jose refuses (property)', async () => {
    const jwe = fast.encrypt(utf8('{"pin":"1234"}'), k.encPub);
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const token = mutate(jwe, m);
        const byJose = await outcome(() => jose.decrypt(token, k.encPriv));
        const byFast = await outcome(() => fast.decrypt(token, k.encPriv));
        if (byFast === 'OK') expect([token, byJose]).toEqual([token, 'OK']);
        if (byJose === 'OK' && token !== jwe) {
          expect(byFast).toBe('REFUSED');
          expect(canonical(token.replace(/[ =]/g, ''))).toBe(jwe);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('installation', () => {
  it('importing @semops/node installs the node:crypto backend unless SEMOPS_CRYPTO=jose', async () => {
    expect(previous).toBe(jose); // the protocol default (this file imports fast-crypto.ts, not index.ts)
    await import('./index.js');
    expect(cryptoBackend()).toBe(process.env.SEMOPS_CRYPTO === 'jose' ? jose : fast);
    setCryptoBackend(jose);
    expect(installFastCrypto({ SEMOPS_CRYPTO: 'jose' })).toBe(false);
    expect(cryptoBackend()).toBe(jose);
    expect(installFastCrypto({})).toBe(true);
    expect(cryptoBackend()).toBe(fast);
  });
});
