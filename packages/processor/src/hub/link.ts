/**
 * The processor's link to the hub: the hub's keys (pinned on first contact, then followed through the hub's
 * signed rotation statements), the participant registry with every processor's public keys (cached,
 * refreshed when an unknown key id shows up and every few seconds), and sending messages.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { createNodeClient, parse, type NodeClient, type TlsPins } from '@semops/node';
import {
  HUB_MESSAGES,
  SemopsError,
  importEncryptionKey,
  nodeOfKeyId,
  okpJwk,
  pickKey,
  publishedKey,
  publishedParticipant,
  signingKeyId,
  type HubMessageType,
  type Key,
  type MessageBody,
  type MessageResult,
  type Participant,
  type PublishedParticipant,
  type Signer,
} from '@semops/protocol';
import { followHubKeys, importKeys, type KnownKey } from './hub-keys.js';

export const HUB_ID = 'hub';
const REFRESH_GAP_MS = 200;

interface Known {
  readonly info: PublishedParticipant;
  /** Current first. */
  readonly signing: readonly KnownKey[];
  readonly encryption: Key;
}

export interface HubLink {
  /**
   * Public key of a node (the hub or a processor) for verifying its signatures, by key id (`bank-a#…`, or a
   * bare node id for its current key); throws KEY_RETIRED for a key past its overlap.
   */
  resolveKey(kid: string): Promise<Key | undefined>;
  participant(id: string): Promise<Participant | undefined>;
  byRoutingPrefix(prefix: string): Promise<Participant | undefined>;
  encryptionKey(id: string): Promise<Key>;
  /** Sends a message to the hub and returns the verified result, parsed (`HUB_MESSAGES`). */
  send<K extends HubMessageType>(
    type: K,
    body: MessageBody<typeof HUB_MESSAGES, K>,
    opts?: { timeoutMs?: number },
  ): Promise<MessageResult<typeof HUB_MESSAGES, K>>;
  /** Whether the hub answers its `/health` within `timeoutMs` (this processor's readiness). */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Reads the participant registry again (keys rotated or retired since the last read). */
  refresh(): Promise<void>;
  readonly client: NodeClient;
  close(): Promise<void>;
}

const hubInfo = z.object({
  id: z.literal(HUB_ID),
  signingKey: okpJwk,
  signingKeys: z.array(publishedKey).max(16).optional(),
  statements: z.array(z.string().max(4096)).max(100).optional(),
});
const hubPin = z.object({ keys: z.array(publishedKey).min(1).max(16) });
const participantList = z.object({ participants: z.array(publishedParticipant) });

export async function createHubLink(opts: {
  hubUrl: string;
  signer: Signer;
  dataDir: string;
  /** This processor's own keys, so that it can verify itself without the hub. */
  self: { id: string; resolve: (kid: string, now: number) => Key | undefined; encryption: Key };
  /** TLS: the SHA-256 fingerprint the hub's certificate must have (an `https` hub URL). */
  tls?: TlsPins;
  /** The clock messages are dated and checked by (the node's clock). */
  now?: () => number;
}): Promise<HubLink> {
  const { hubUrl, signer } = opts;
  const now = opts.now ?? Date.now;
  const pinPath = join(opts.dataDir, 'hub.json');
  let hubKeys: KnownKey[] | undefined;
  let lastHubRead = 0;
  let following: Promise<KnownKey[]> | undefined;
  const known = new Map<string, Known>();
  let lastRefresh = 0;
  let refreshing: Promise<void> | undefined;

  // eslint-disable-next-line prefer-const -- assigned once below, used by the closures
  let client: NodeClient;

  const savePin = (keys: readonly KnownKey[]): void => {
    const tmp = `${pinPath}.tmp`;
    writeFileSync(tmp, JSON.stringify({ keys: keys.map(({ publicKey: _, ...k }) => k) }));
    renameSync(tmp, pinPath);
  };

  /** The hub's keys: pinned on first contact (trust on first use), later changed only by its statements. */
  async function loadHubKeys(): Promise<KnownKey[]> {
    if (hubKeys) return hubKeys;
    if (existsSync(pinPath)) {
      const raw = JSON.parse(readFileSync(pinPath, 'utf8')) as unknown;
      const pin = hubPin.safeParse(raw);
      if (pin.success) hubKeys = await importKeys(pin.data.keys);
      else {
        // A pin from before rotation: the hub's one key.
        const jwk = parse(okpJwk, raw);
        hubKeys = await importKeys([{ kid: await signingKeyId(HUB_ID, jwk), key: jwk, since: 0 }]);
      }
      return hubKeys;
    }
    const info = parse(hubInfo, await client.getJson(`${hubUrl}/v1/info`));
    hubKeys = await importKeys(
      info.signingKeys ?? [
        { kid: await signingKeyId(HUB_ID, info.signingKey), key: info.signingKey, since: 0 },
      ],
    );
    savePin(hubKeys);
    return hubKeys;
  }

  /**
   * Follows the hub's statements from the keys pinned here (an unknown hub key id): one read at a time, at most
   * five a second, so that messages with made-up hub key ids cannot flood the hub.
   */
  function followHub(): Promise<KnownKey[]> {
    following ??= (async () => {
      try {
        const trusted = await loadHubKeys();
        const wait = lastHubRead + REFRESH_GAP_MS - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        lastHubRead = Date.now();
        const info = parse(hubInfo, await client.getJson(`${hubUrl}/v1/info`));
        const next = await followHubKeys(trusted, info.statements ?? []);
        if (next !== trusted) {
          hubKeys = next;
          savePin(next);
        }
        return next;
      } finally {
        following = undefined;
      }
    })();
    return following;
  }

  async function refresh(): Promise<void> {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      try {
        const list = parse(participantList, await client.getJson(`${hubUrl}/v1/participants`));
        for (const p of list.participants) {
          const prev = known.get(p.id);
          if (prev && JSON.stringify(prev.info) === JSON.stringify(p)) continue;
          known.set(p.id, {
            info: p,
            signing: await importKeys(
              p.signingKeys ?? [{ kid: await signingKeyId(p.id, p.signingKey), key: p.signingKey, since: 0 }],
            ),
            encryption: await importEncryptionKey(p.encryptionKey),
          });
        }
        lastRefresh = Date.now();
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  /** Refreshes the registry on a miss, at most five times a second (an unknown id cannot flood the hub). */
  async function refreshOnMiss(): Promise<void> {
    const wait = lastRefresh + REFRESH_GAP_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await refresh().catch(() => undefined);
  }

  async function lookup(id: string): Promise<Known | undefined> {
    const k = known.get(id);
    if (k) return k;
    await refreshOnMiss();
    return known.get(id);
  }

  client = createNodeClient({
    signer,
    resolveKey: (id) => resolveKey(id),
    timeoutMs: 15_000,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
  });

  async function resolveKey(kid: string): Promise<Key | undefined> {
    const node = nodeOfKeyId(kid);
    if (node === opts.self.id) return opts.self.resolve(kid, now());
    if (node === HUB_ID) {
      const k = pickKey(await loadHubKeys(), kid, now());
      if (k || !kid.includes('#')) return k?.publicKey;
      return pickKey(await followHub().catch(() => hubKeys ?? []), kid, now())?.publicKey;
    }
    const entry = await lookup(node);
    const k = entry && pickKey(entry.signing, kid, now());
    if (k || !entry || !kid.includes('#')) return k?.publicKey;
    // A key id not seen yet: the node may have just rotated.
    await refreshOnMiss();
    const again = known.get(node);
    return again && pickKey(again.signing, kid, now())?.publicKey;
  }

  await loadHubKeys().catch(() => undefined);
  await refresh().catch(() => undefined);

  return {
    resolveKey,
    async participant(id) {
      return (await lookup(id))?.info;
    },
    async byRoutingPrefix(prefix) {
      const find = () => [...known.values()].find((k) => k.info.routingPrefix === prefix)?.info;
      if (!find()) await refreshOnMiss();
      return find();
    },
    async encryptionKey(id) {
      if (id === opts.self.id) return opts.self.encryption;
      const k = await lookup(id);
      if (!k) throw new SemopsError('PARTICIPANT_NOT_FOUND', `Unknown processor ${id}.`);
      return k.encryption;
    },
    async send(type, body, sendOpts) {
      await loadHubKeys();
      return client.send(HUB_MESSAGES, hubUrl, HUB_ID, type, body, sendOpts);
    },
    async ping(timeoutMs = 2000) {
      await client.getJson(`${hubUrl}/health`, { timeoutMs });
      return true;
    },
    refresh: () => refresh(),
    client,
    close: () => client.close(),
  };
}
