import { describe, expect, it } from 'vitest';
import {
  generateSigningKeys,
  importSigningKey,
  publicPart,
  signKeyStatement,
  signingKeyId,
  type PublishedKey,
} from '@semops/protocol';
import { followHubKeys, importKeys } from './hub-keys.js';

async function hubKey() {
  const k = await generateSigningKeys();
  const jwk = publicPart(k.publicJwk) as PublishedKey['key'];
  return { kid: await signingKeyId('hub', jwk), jwk, key: await importSigningKey(k.privateJwk) };
}
type HubKey = Awaited<ReturnType<typeof hubKey>>;

const rotate = (from: HubKey, to: HubKey, issuedAt: number, overlapMs = 1000) =>
  signKeyStatement(
    { action: 'rotate', node: 'hub', kid: to.kid, key: to.jwk, previous: from.kid, overlapMs, issuedAt },
    from.key,
    from.kid,
  );
const retire = (by: HubKey, kid: string, issuedAt: number) =>
  signKeyStatement({ action: 'retire', node: 'hub', kid, issuedAt }, by.key, by.kid);

describe("following the hub's keys", () => {
  it('walks the chain from the pinned key; a statement by a key the hub left is not followed', async () => {
    const [k1, k2, k3, thief] = await Promise.all([hubKey(), hubKey(), hubKey(), hubKey()]);
    const pinned = await importKeys([{ kid: k1.kid, key: k1.jwk, since: 0 }]);
    const chain = [await rotate(k1, k2, 100), await retire(k2, k1.kid, 150), await rotate(k2, k3, 200, 50)];
    // Someone holding the retired k1 signs "k1 → thief" after the fact.
    const forged = await rotate(k1, thief, 300);
    const followed = await followHubKeys(pinned, [...chain, forged, 'not-a-jws']);
    expect(followed.map(({ publicKey: _, ...k }) => k)).toEqual([
      { kid: k3.kid, key: k3.jwk, since: 200 },
      { kid: k2.kid, key: k2.jwk, since: 100, until: 250 },
      { kid: k1.kid, key: k1.jwk, since: 0, until: 150 },
    ]);
    // Nothing new: the same keys back.
    expect(await followHubKeys(followed, chain)).toBe(followed);
    // A processor that pinned k2 follows from there.
    const fromK2 = await followHubKeys(await importKeys([{ kid: k2.kid, key: k2.jwk, since: 100 }]), chain);
    expect(fromK2.map((k) => k.kid)).toEqual([k3.kid, k2.kid]);
    // A chain that does not start at the pinned key changes nothing.
    const stranger = await importKeys([{ kid: thief.kid, key: thief.jwk, since: 0 }]);
    expect(await followHubKeys(stranger, chain)).toBe(stranger);
  });
});
