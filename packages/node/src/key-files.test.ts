// A node's keys and secrets: made once on first start, in files only the node's user can read, the same
// ones on every start after; a damaged key file stops the node rather than giving it a new identity.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecret, openKeyring } from './index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'semops-keys-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe('node keys', () => {
  it('refuse to start from a damaged key file and leave it as it is (no new identity behind the operator’s back)', async () => {
    const keysDir = join(dir, 'keys');
    await openKeyring(keysDir, 'bank-a');
    const path = join(keysDir, 'keys.json');
    const damaged = readFileSync(path, 'utf8').slice(0, 100);
    writeFileSync(path, damaged);
    await expect(openKeyring(keysDir, 'bank-a')).rejects.toThrow();
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
