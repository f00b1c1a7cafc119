import { describe, expect, it } from 'vitest';
import {
  decryptJson,
  encryptJson,
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  publicPart,
  signJson,
  verifyJson,
} from './crypto.js';
import { openMessage, sealMessage } from './envelope.js';
import { SemopsError } from './errors.js';

async function node(id: string) {
  const keys = await generateSigningKeys();
  return {
    id,
    key: await importSigningKey(keys.privateJwk),
    pub: await importSigningKey(publicPart(keys.publicJwk)),
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof SemopsError) return e.code;
    throw e;
  }
}

describe('signing and encryption', () => {
  it('signs and verifies JSON; a tampered token fails', async () => {
    const a = await node('bank-a');
    const jws = await signJson({ amount: '10' }, a.key, 'bank-a', 'semops-request+jws');
    expect(await verifyJson(jws, a.pub, 'semops-request+jws')).toEqual({ amount: '10' });
    const [h, p, s] = jws.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ amount: '99' })).toString('base64url')}.${s}`;
    expect(await codeOf(verifyJson(forged, a.pub, 'semops-request+jws'))).toBe('SIGNATURE_INVALID');
    expect(p).toBeTruthy();
    expect(await codeOf(verifyJson(jws, a.pub, 'semops-receipt+jws'))).toBe('MESSAGE_MALFORMED');
  });

  it('encrypts to a key that only its holder can open', async () => {
    const k = await generateEncryptionKeys();
    const other = await generateEncryptionKeys();
    const jwe = await encryptJson({ pin: '1234' }, await importEncryptionKey(publicPart(k.publicJwk)));
    expect(jwe).not.toContain('1234');
    expect(await decryptJson(jwe, await importEncryptionKey(k.privateJwk))).toEqual({ pin: '1234' });
    expect(await codeOf(decryptJson(jwe, await importEncryptionKey(other.privateJwk)))).toBe(
      'MESSAGE_MALFORMED',
    );
  });
});

describe('message envelope', () => {
  it('accepts a good message and refuses wrong receiver, unknown sender, bad signature, expiry, future', async () => {
    const a = await node('bank-a');
    const mallory = await node('bank-a');
    const resolveKey = (id: string) => (id === 'bank-a' ? a.pub : undefined);
    const now = 1_700_000_000_000;
    const { jws, envelope } = await sealMessage(a, 'hub', 'transfer.status', { x: 1 }, { now });
    const opened = await openMessage(jws, { me: 'hub', resolveKey, now: now + 1000 });
    expect(opened).toEqual(envelope);

    expect(await codeOf(openMessage(jws, { me: 'mno-b', resolveKey, now }))).toBe('WRONG_RECEIVER');
    expect(await codeOf(openMessage(jws, { me: 'hub', resolveKey: () => undefined, now }))).toBe(
      'UNKNOWN_SENDER',
    );
    expect(await codeOf(openMessage(jws, { me: 'hub', resolveKey, now: now + 61_000 }))).toBe(
      'MESSAGE_EXPIRED',
    );
    expect(await codeOf(openMessage(jws, { me: 'hub', resolveKey, now: now - 60_000 }))).toBe(
      'MESSAGE_FROM_FUTURE',
    );
    const forged = await sealMessage(mallory, 'hub', 'transfer.status', { x: 2 }, { now });
    expect(await codeOf(openMessage(forged.jws, { me: 'hub', resolveKey, now }))).toBe('SIGNATURE_INVALID');
    expect(await codeOf(openMessage('not-a-jws', { me: 'hub', resolveKey, now }))).toBe('MESSAGE_MALFORMED');
    expect(await codeOf(openMessage(42, { me: 'hub', resolveKey, now }))).toBe('MESSAGE_MALFORMED');
  });
});

describe('message size', () => {
  it('carries a batch of 500 prepares between nodes, but no JWS that large from anyone else', async () => {
    const hub = await node('hub');
    const transfers = Array.from({ length: 500 }, (_, i) => ({
      transferId: `pay_${String(i).padStart(26, '0')}`,
      receipt: 'x'.repeat(1500),
    }));
    const { jws } = await sealMessage(hub, 'bank-a', 'transfer.notify', { transfers });
    expect(jws.length).toBeGreaterThan(65_536);
    const env = await openMessage(jws, { me: 'bank-a', resolveKey: () => hub.pub });
    expect((env.body as { transfers: unknown[] }).transfers).toHaveLength(500);
    const big = await signJson({ transfers }, hub.key, 'hub', 'semops-request+jws');
    expect(await codeOf(verifyJson(big, hub.pub, 'semops-request+jws'))).toBe('MESSAGE_MALFORMED');
  });
});
