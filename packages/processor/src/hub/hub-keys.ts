/**
 * The hub's keys as a processor trusts them. The first key is pinned on first contact; after that a new hub
 * key is trusted only through the hub's chain of statements (`GET /v1/info` → `statements`): a rotation
 * signed by the key this processor holds as the hub's current one (and proven by the new key), or a
 * retirement signed by it. A statement signed by any other key (an earlier, retired hub key in the wrong
 * hands) is skipped, so the chain cannot be forked from a key the hub has left.
 */
import {
  importSigningKey,
  peekKeyStatement,
  publicPart,
  verifyKeyStatement,
  type PublishedKey,
  type Key,
} from '@semops/protocol';

/** A node's public signing key with its validity, imported. */
export interface KnownKey extends PublishedKey {
  readonly publicKey: Key;
}

export async function importKeys(keys: readonly PublishedKey[]): Promise<KnownKey[]> {
  return Promise.all(keys.map(async (k) => ({ ...k, publicKey: await importSigningKey(publicPart(k.key)) })));
}

const endBy = (k: KnownKey, t: number): KnownKey => ({ ...k, until: Math.min(k.until ?? t, t) });

/**
 * Applies the hub's statements, oldest first, to the keys trusted here (current first); returns `trusted`
 * itself when nothing applied.
 */
export async function followHubKeys(trusted: KnownKey[], statements: readonly string[]): Promise<KnownKey[]> {
  let keys = trusted;
  for (const jws of statements) {
    let signerKid: string;
    try {
      signerKid = peekKeyStatement(jws).kid;
    } catch {
      continue;
    }
    const current = keys[0]!;
    if (signerKid !== current.kid) continue; // applied already, or not from the key trusted as current
    let s;
    try {
      s = await verifyKeyStatement(jws, { kid: current.kid, key: current.publicKey }, 'hub', {
        now: 0,
        anyAge: true,
      });
    } catch {
      continue;
    }
    if (s.action === 'rotate') {
      if (keys.some((k) => k.kid === s.kid)) continue;
      const [added] = await importKeys([{ kid: s.kid, key: s.key, since: s.issuedAt }]);
      keys = [
        added!,
        { ...current, until: s.issuedAt + s.overlapMs },
        ...keys.slice(1).map((k) => endBy(k, s.issuedAt)),
      ].slice(0, 16);
    } else {
      keys = keys.map((k) => (k.kid === s.kid ? endBy(k, s.issuedAt) : k));
    }
  }
  return keys;
}
