/**
 * The processor's link to the hub: the hub's key (pinned on first contact), the participant registry with
 * every processor's public keys (cached, refreshed when an unknown id shows up), and sending messages.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { createNodeClient, parse, type NodeClient } from '@semops/node';
import {
  HUB_MESSAGES,
  SemopsError,
  importEncryptionKey,
  importSigningKey,
  okpJwk,
  participant,
  type HubMessageType,
  type Key,
  type MessageBody,
  type MessageResult,
  type Participant,
  type Signer,
} from '@semops/protocol';

export const HUB_ID = 'hub';
const REFRESH_GAP_MS = 200;

interface Known {
  readonly info: Participant;
  readonly signing: Key;
  readonly encryption: Key;
}

export interface HubLink {
  /** Public key of a node (the hub or a processor) for verifying its signatures. */
  resolveKey(id: string): Promise<Key | undefined>;
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
  readonly client: NodeClient;
  close(): Promise<void>;
}

const hubInfo = z.object({ id: z.literal(HUB_ID), signingKey: okpJwk });
const participantList = z.object({ participants: z.array(participant) });

export async function createHubLink(opts: {
  hubUrl: string;
  signer: Signer;
  dataDir: string;
  /** This processor's own entry, so that it can verify itself without the hub. */
  self: { id: string; signing: Key; encryption: Key };
  /** The clock messages are dated and checked by (the node's clock). */
  now?: () => number;
}): Promise<HubLink> {
  const { hubUrl, signer } = opts;
  let hubKey: Key | undefined;
  const known = new Map<string, Known>();
  let lastRefresh = 0;
  let refreshing: Promise<void> | undefined;

  // eslint-disable-next-line prefer-const -- assigned once below, used by the closures
  let client: NodeClient;

  async function loadHubKey(): Promise<Key> {
    if (hubKey) return hubKey;
    const pinPath = join(opts.dataDir, 'hub.json');
    let jwk: z.infer<typeof okpJwk>;
    if (existsSync(pinPath)) {
      jwk = parse(okpJwk, JSON.parse(readFileSync(pinPath, 'utf8')));
    } else {
      jwk = parse(hubInfo, await client.getJson(`${hubUrl}/v1/info`)).signingKey;
      writeFileSync(pinPath, JSON.stringify(jwk));
    }
    hubKey = await importSigningKey(jwk);
    return hubKey;
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
            signing: await importSigningKey(p.signingKey),
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
  });

  async function resolveKey(id: string): Promise<Key | undefined> {
    if (id === HUB_ID) return loadHubKey();
    if (id === opts.self.id) return opts.self.signing;
    return (await lookup(id))?.signing;
  }

  await loadHubKey().catch(() => undefined);
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
      await loadHubKey();
      return client.send(HUB_MESSAGES, hubUrl, HUB_ID, type, body, sendOpts);
    },
    async ping(timeoutMs = 2000) {
      await client.getJson(`${hubUrl}/health`, { timeoutMs });
      return true;
    },
    client,
    close: () => client.close(),
  };
}
