// A node's keys and secrets: made once on first start, in files only the node's user can read, the same
// ones on every start after; a damaged key file stops the node rather than giving it a new identity.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptJson, encryptJson, importEncryptionKey, signJson, verifyJson } from '@semops/protocol';
import { loadOrCreateKeys, loadOrCreateSecret } from './index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'semops-keys-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe('node keys', () => {
  it('are made on first start in a file only the node can read, and are the same on the next start', async () => {
    const keysDir = join(dir, 'keys');
    const first = await loadOrCreateKeys(keysDir);
    expect(mode(keysDir)).toBe(0o700);
    expect(mode(join(keysDir, 'keys.json'))).toBe(0o600);
    const again = await loadOrCreateKeys(keysDir);
    expect(again.signingPublicJwk).toEqual(first.signingPublicJwk);
    expect(again.encryptionPublicJwk).toEqual(first.encryptionPublicJwk);
    // What the first start signed verifies with the key of the second, and the other way round.
    const signed = await signJson({ hello: 'hub' }, first.signingKey, 'bank-a', 'test+jws');
    expect(await verifyJson(signed, again.signingPublicKey, 'test+jws')).toEqual({ hello: 'hub' });
    const sealed = await encryptJson({ pin: '1234' }, await importEncryptionKey(again.encryptionPublicJwk));
    expect(await decryptJson(sealed, first.encryptionPrivateKey)).toEqual({ pin: '1234' });
  });

  it('publish no private part, and differ from node to node', async () => {
    const a = await loadOrCreateKeys(join(dir, 'a'));
    const b = await loadOrCreateKeys(join(dir, 'b'));
    for (const jwk of [a.signingPublicJwk, a.encryptionPublicJwk]) expect(jwk).not.toHaveProperty('d');
    expect(a.signingPublicJwk).not.toEqual(b.signingPublicJwk);
    expect(a.encryptionPublicJwk).not.toEqual(b.encryptionPublicJwk);
    // b's key does not pass for a's.
    const signed = await signJson({ n: 1 }, b.signingKey, 'a', 'test+jws');
    await expect(verifyJson(signed, a.signingPublicKey, 'test+jws')).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    await expect(
      decryptJson(
        await encryptJson({ n: 1 }, await importEncryptionKey(b.encryptionPublicJwk)),
        a.encryptionPrivateKey,
      ),
    ).rejects.toMatchObject({ code: 'MESSAGE_MALFORMED' });
  });

  it('refuse to start from a damaged key file and leave it as it is (no new identity behind the operator’s back)', async () => {
    const keysDir = join(dir, 'keys');
    await loadOrCreateKeys(keysDir);
    const path = join(keysDir, 'keys.json');
    const damaged = readFileSync(path, 'utf8').slice(0, 100);
    writeFileSync(path, damaged);
    await expect(loadOrCreateKeys(keysDir)).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe(damaged);
  });
});

describe('node secrets', () => {
  it('are random, kept in a file only the node can read, and the same on the next start', () => {
    const secrets = join(dir, 'secrets');
    const pin = loadOrCreateSecret(secrets, 'pin-hmac-key');
    expect(pin).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes
    expect(mode(join(secrets, 'pin-hmac-key.secret'))).toBe(0o600);
    expect(loadOrCreateSecret(secrets, 'pin-hmac-key')).toBe(pin);
    expect(loadOrCreateSecret(secrets, 'admin-token')).not.toBe(pin);
  });

  it('given explicitly (from the environment or a secret manager), win and are not written to disk', () => {
    const secrets = join(dir, 'secrets');
    expect(loadOrCreateSecret(secrets, 'admin-token', 'from-the-vault')).toBe('from-the-vault');
    // Nothing was written: a later start without the explicit value makes its own.
    const own = loadOrCreateSecret(secrets, 'admin-token');
    expect(own).not.toBe('from-the-vault');
    expect(readFileSync(join(secrets, 'admin-token.secret'), 'utf8')).toBe(own);
  });
});
