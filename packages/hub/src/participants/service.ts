/**
 * The participant registry: who may send messages to the hub, where each processor is reached, which
 * currencies it clears and the public keys its messages and receipts are verified with. Kept in memory
 * (a few dozen rows) and written through to the hub's store.
 */
import {
  SemopsError,
  importSigningKey,
  isEd25519Jwk,
  isX25519Jwk,
  publicPart,
  type Key,
  type Participant,
} from '@semops/protocol';
import type { Writer } from '../shared/writer.js';
import type { ParticipantStore } from './store.js';

/** The hub's own id; no processor may take it. */
export const HUB_ID = 'hub';

export interface ParticipantService {
  list(): Participant[];
  get(id: string): Participant | undefined;
  /** The participant whose routing prefix (first three digits of a short code) is `prefix`. */
  byRoutingPrefix(prefix: string): Participant | undefined;
  /** The signing key of a registered processor, for verifying its messages and receipts. */
  signingKey(id: string): Key | undefined;
  /** Registers or updates a processor; opens its position accounts for every currency. */
  register(p: Participant): Promise<{ participant: Participant; created: boolean }>;
}

export interface ParticipantServiceDeps {
  readonly store: ParticipantStore;
  readonly writer: Writer;
  /** Opens the ledger accounts a processor needs for its currencies (idempotent). */
  readonly openAccounts: (processorId: string, currencies: readonly string[]) => Promise<void>;
  readonly now: () => number;
}

interface Entry {
  readonly participant: Participant;
  readonly signingKey: Key;
}

function normalize(p: Participant): Participant {
  return { ...p, baseUrl: p.baseUrl.replace(/\/+$/, ''), currencies: [...new Set(p.currencies)] };
}

async function importKeys(p: Participant): Promise<Entry> {
  if (!isEd25519Jwk(p.signingKey)) {
    throw new SemopsError('VALIDATION_FAILED', 'signingKey must be a public Ed25519 JWK.');
  }
  if (!isX25519Jwk(p.encryptionKey) || !/^[A-Za-z0-9_-]{43}$/.test(p.encryptionKey.x)) {
    throw new SemopsError('VALIDATION_FAILED', 'encryptionKey must be a public X25519 JWK.');
  }
  try {
    return { participant: p, signingKey: await importSigningKey(publicPart(p.signingKey)) };
  } catch (e) {
    throw new SemopsError('VALIDATION_FAILED', 'signingKey cannot be imported.', undefined, { cause: e });
  }
}

/** Creates the registry and loads the registered participants. */
export async function createParticipantService(deps: ParticipantServiceDeps): Promise<ParticipantService> {
  const entries = new Map<string, Entry>();
  const byPrefix = new Map<string, string>();
  const remember = (e: Entry, previous?: Participant): void => {
    if (previous) byPrefix.delete(previous.routingPrefix);
    entries.set(e.participant.id, e);
    byPrefix.set(e.participant.routingPrefix, e.participant.id);
  };
  for (const p of await deps.store.all()) remember(await importKeys(p));

  return {
    list: () => [...entries.values()].map((e) => e.participant),
    get: (id) => entries.get(id)?.participant,
    byRoutingPrefix(prefix) {
      const id = byPrefix.get(prefix);
      return id === undefined ? undefined : entries.get(id)?.participant;
    },
    signingKey: (id) => entries.get(id)?.signingKey,
    async register(input) {
      const p = normalize(input);
      if (p.id === HUB_ID)
        throw new SemopsError('VALIDATION_FAILED', `The id ${HUB_ID} is reserved for the hub.`);
      const entry = await importKeys(p);
      const owner = await deps.store.prefixOwner(p.routingPrefix);
      if (owner !== undefined && owner !== p.id) {
        throw new SemopsError('VALIDATION_FAILED', `Routing prefix ${p.routingPrefix} belongs to ${owner}.`);
      }
      // Accounts first: a registered processor always has its position accounts.
      await deps.openAccounts(p.id, p.currencies);
      const created = await deps.writer.write(async (tx) => {
        const again = await deps.store.prefixOwner(p.routingPrefix, tx);
        if (again !== undefined && again !== p.id) {
          throw new SemopsError(
            'VALIDATION_FAILED',
            `Routing prefix ${p.routingPrefix} belongs to ${again}.`,
          );
        }
        return deps.store.upsert(tx, p, deps.now());
      });
      remember(entry, entries.get(p.id)?.participant);
      return { participant: p, created };
    },
  };
}
