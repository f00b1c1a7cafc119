import { describe, expect, it } from 'vitest';
import { generateSigningKeys, importSigningKey, publicPart } from './crypto.js';
import { SemopsError } from './errors.js';
import {
  nodeOfKeyId,
  pickKey,
  signKeyStatement,
  signingKeyId,
  verifyKeyStatement,
  type KeyStatement,
} from './keys.js';

async function key(node: string) {
  const k = await generateSigningKeys();
  return {
    kid: await signingKeyId(node, k.publicJwk),
    key: await importSigningKey(k.privateJwk),
    pub: await importSigningKey(publicPart(k.publicJwk)),
    jwk: publicPart(k.publicJwk) as { kty: 'OKP'; crv: string; x: string },
  };
}

const codeOf = (e: unknown) => (e instanceof SemopsError ? `${e.code}: ${e.message}` : String(e));

describe('key ids', () => {
  it('name the node and the RFC 7638 thumbprint of the key', async () => {
    // RFC 8037 A.3: the thumbprint of the Ed25519 example key.
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
    expect(await signingKeyId('bank-a', jwk)).toBe('bank-a#kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    expect(nodeOfKeyId('bank-a#kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')).toBe('bank-a');
    expect(nodeOfKeyId('bank-a')).toBe('bank-a');
  });

  it('pick a key by id: a bare node id is the current key, a key past its until is KEY_RETIRED', () => {
    const keys = [
      { kid: 'n#current', name: 'current' },
      { kid: 'n#previous', name: 'previous', until: 2000 },
    ];
    expect(pickKey(keys, 'n', 1000)?.name).toBe('current');
    expect(pickKey(keys, 'n#previous', 1999)?.name).toBe('previous');
    expect(pickKey(keys, 'n#unknown', 1000)).toBeUndefined();
    expect(() => pickKey(keys, 'n#previous', 2000)).toThrow(/was retired/);
  });
});

describe('key statements', () => {
  it('a rotation verifies with the current key and the proof of the new key; anything else is refused', async () => {
    const now = 1_700_000_000_000;
    const current = await key('bank-a');
    const next = await key('bank-a');
    const other = await key('bank-a');
    const statement: KeyStatement = {
      action: 'rotate',
      node: 'bank-a',
      kid: next.kid,
      key: next.jwk,
      previous: current.kid,
      overlapMs: 60_000,
      issuedAt: now,
    };
    const signed = await signKeyStatement(statement, current.key, current.kid);
    const proof = await signKeyStatement(statement, next.key, next.kid);
    const verify = (jws: string, opts: { proof?: string; now?: number } = {}, node = 'bank-a') =>
      verifyKeyStatement(jws, { kid: current.kid, key: current.pub }, node, {
        now: opts.now ?? now,
        ...opts,
      }).then((s) => `ok ${s.action}`, codeOf);
    expect(await verify(signed, { proof })).toBe('ok rotate');
    const refusals: Array<[Promise<string>, RegExp]> = [
      [
        verify(signed, { proof: await signKeyStatement(statement, other.key, other.kid) }),
        /proof must be signed by the new key/,
      ],
      [
        verify(signed, { proof: await signKeyStatement(statement, other.key, next.kid) }),
        /does not verify with the new key/,
      ],
      [
        verify(signed, { proof: await signKeyStatement({ ...statement, overlapMs: 0 }, next.key, next.kid) }),
        /proof signs another statement/,
      ],
      [verify(await signKeyStatement(statement, other.key, current.kid)), /does not verify with bank-a#/],
      [verify(await signKeyStatement(statement, other.key, other.kid)), /must be signed by bank-a#/],
      [verify(signed, { now: now + 6 * 60_000 }), /too old/],
      [verify(signed, {}, 'mno-b'), /about bank-a, not mno-b/],
      [
        verify(await signKeyStatement({ ...statement, previous: other.kid }, current.key, current.kid)),
        /replaces the key that signs it/,
      ],
      [
        verify(await signKeyStatement({ ...statement, kid: other.kid }, current.key, current.kid)),
        /not its thumbprint/,
      ],
      [
        verify(await signKeyStatement({ ...statement, overlapMs: 8 * 86_400_000 }, current.key, current.kid)),
        /fields/,
      ],
      [verify('not.a-jws'), /not a compact JWS|does not verify/],
    ];
    for (const [result, why] of refusals)
      expect(await result).toMatch(new RegExp(`^KEY_ROTATION_INVALID: .*${why.source}`));
  });
});
