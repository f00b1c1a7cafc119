/**
 * A node's key material and secrets, kept in files under its data directory and never in its database:
 * an Ed25519 signing key, an X25519 encryption key, and named random secrets (PIN hashing key, admin token).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  publicPart,
  type JWK,
  type Key,
  type KeyPairJwk,
} from '@semops/protocol';

export interface NodeKeys {
  readonly signingPublicJwk: JWK;
  readonly encryptionPublicJwk: JWK;
  readonly signingKey: Key;
  readonly signingPublicKey: Key;
  readonly encryptionPrivateKey: Key;
}

interface KeyFile {
  signing: KeyPairJwk;
  encryption: KeyPairJwk;
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
}

/** Loads the node's keys from `<dir>/keys.json`, creating them on first start. */
export async function loadOrCreateKeys(dir: string): Promise<NodeKeys> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'keys.json');
  if (!existsSync(path)) {
    const file: KeyFile = {
      signing: await generateSigningKeys(),
      encryption: await generateEncryptionKeys(),
    };
    writePrivate(path, JSON.stringify(file, null, 2));
  }
  const file = JSON.parse(readFileSync(path, 'utf8')) as KeyFile;
  return {
    signingPublicJwk: publicPart(file.signing.publicJwk),
    encryptionPublicJwk: publicPart(file.encryption.publicJwk),
    signingKey: await importSigningKey(file.signing.privateJwk),
    signingPublicKey: await importSigningKey(publicPart(file.signing.publicJwk)),
    encryptionPrivateKey: await importEncryptionKey(file.encryption.privateJwk),
  };
}

/**
 * A named secret in `<dir>/<name>.secret` (random, created on first use). An explicit value (from the
 * environment) wins, so operators can keep secrets in an HSM or a secret manager.
 */
export function loadOrCreateSecret(dir: string, name: string, explicit?: string): string {
  if (explicit) return explicit;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${name}.secret`);
  if (!existsSync(path)) writePrivate(path, randomBytes(32).toString('base64url'));
  return readFileSync(path, 'utf8').trim();
}
