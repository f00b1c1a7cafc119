/**
 * The participant registry: who may send messages to the hub, where each processor is reached, which
 * currencies it clears and the public keys its messages and receipts are verified with. Kept in memory
 * (a few dozen rows) and written through to the hub's store.
 *
 * Keys: each participant has a current signing key and may have an earlier one still accepted until the end
 * of an overlap. A processor changes its key with `keys.rotate` (a statement signed by its current key and by
 * the new one) and ends the overlap early with `keys.retire`; the hub's operator can replace a key outright
 * (`register` with another `signingKey`: every earlier key is retired at once, as after a compromise).
 */
import {
  SemopsError,
  importSigningKey,
  isEd25519Jwk,
  isX25519Jwk,
  nodeOfKeyId,
  peekKeyStatement,
  pickKey,
  publicPart,
  signingKeyId,
  verifyKeyStatement,
  type Key,
  type Participant,
  type PublishedKey,
  type PublishedParticipant,
  type ParsedBody,
  type HUB_MESSAGES,
  type MessageResult,
} from '@semops/protocol';
import type { AuditLog } from '@semops/node';
import type { Writer } from '../shared/writer.js';
import type { ParticipantStore } from './store.js';

/** The hub's own id; no processor may take it. */
export const HUB_ID = 'hub';
/** Keys kept per participant (current, the one in its overlap, retired ones for clear refusals). */
const MAX_KEYS = 16;

type Rotate = ParsedBody<typeof HUB_MESSAGES, 'keys.rotate'>;
type Retire = ParsedBody<typeof HUB_MESSAGES, 'keys.retire'>;

export interface ParticipantService {
  /** Every participant as published, with its key history. */
  list(): PublishedParticipant[];
  get(id: string): Participant | undefined;
  /** The participant whose routing prefix (first three digits of a short code) is `prefix`. */
  byRoutingPrefix(prefix: string): Participant | undefined;
  /**
   * The public key a key id names (`bank-a#…`, or `bank-a` for its current key), for verifying messages and
   * receipts: undefined when unknown, KEY_RETIRED for a key past its overlap.
   */
  resolveKey(kid: string): Key | undefined;
  /** The pinned TLS certificate fingerprint of the processor reached at `origin` (`https://host:port`), if any. */
  tlsPinFor(origin: string): string | undefined;
  /** Registers or updates a processor (the operator); opens its position accounts for every currency. */
  register(p: Participant): Promise<{ participant: Participant; created: boolean }>;
  /** `keys.rotate` from `node`: its next key becomes current, its current key stays accepted for the overlap. */
  rotate(node: string, body: Rotate): Promise<MessageResult<typeof HUB_MESSAGES, 'keys.rotate'>>;
  /** `keys.retire` from `node`: an earlier key is refused from now on. */
  retire(node: string, body: Retire): Promise<MessageResult<typeof HUB_MESSAGES, 'keys.retire'>>;
}

export interface ParticipantServiceDeps {
  readonly store: ParticipantStore;
  readonly writer: Writer;
  /** Opens the ledger accounts a processor needs for its currencies (idempotent). */
  readonly openAccounts: (processorId: string, currencies: readonly string[]) => Promise<void>;
  /** Where key changes by processors are recorded, refused attempts included. */
  readonly audit?: AuditLog;
  readonly now: () => number;
}

interface HubKey extends PublishedKey {
  readonly publicKey: Key;
}

interface Entry {
  readonly participant: Participant;
  /** Current first. */
  readonly keys: readonly HubKey[];
}

function normalize(p: Participant): Participant {
  return { ...p, baseUrl: p.baseUrl.replace(/\/+$/, ''), currencies: [...new Set(p.currencies)] };
}

function checkKeys(p: Participant): void {
  if (p.tlsCertSha256 !== undefined && !p.baseUrl.startsWith('https://')) {
    throw new SemopsError(
      'VALIDATION_FAILED',
      'tlsCertSha256 pins the certificate of an https baseUrl; this baseUrl is plain http.',
    );
  }
  if (!isEd25519Jwk(p.signingKey)) {
    throw new SemopsError('VALIDATION_FAILED', 'signingKey must be a public Ed25519 JWK.');
  }
  if (!isX25519Jwk(p.encryptionKey) || !/^[A-Za-z0-9_-]{43}$/.test(p.encryptionKey.x)) {
    throw new SemopsError('VALIDATION_FAILED', 'encryptionKey must be a public X25519 JWK.');
  }
}

async function importKey(k: PublishedKey): Promise<HubKey> {
  try {
    return {
      ...k,
      key: publicPart(k.key) as PublishedKey['key'],
      publicKey: await importSigningKey(publicPart(k.key)),
    };
  } catch (e) {
    throw new SemopsError('VALIDATION_FAILED', 'signingKey cannot be imported.', undefined, { cause: e });
  }
}

const published = ({ publicKey: _, ...k }: HubKey): PublishedKey => k;
const invalid = (why: string) => new SemopsError('KEY_ROTATION_INVALID', why);
/** The key that signed a statement, for the audit log (null when it is not even a JWS). */
function signerKidOf(statement: string): string | null {
  try {
    return peekKeyStatement(statement).kid;
  } catch {
    return null;
  }
}
/** Ends a key's validity at `t` at the latest. */
const endBy = (k: HubKey, t: number): HubKey => ({ ...k, until: Math.min(k.until ?? t, t) });

/** Creates the registry and loads the registered participants. */
export async function createParticipantService(deps: ParticipantServiceDeps): Promise<ParticipantService> {
  const { now } = deps;
  const entries = new Map<string, Entry>();
  const byPrefix = new Map<string, string>();
  const remember = (e: Entry, previous?: Participant): void => {
    if (previous) byPrefix.delete(previous.routingPrefix);
    entries.set(e.participant.id, e);
    byPrefix.set(e.participant.routingPrefix, e.participant.id);
  };
  for (const { participant: p, keys } of await deps.store.all()) {
    const history = keys ?? [{ kid: await signingKeyId(p.id, p.signingKey), key: p.signingKey, since: 0 }];
    remember({ participant: p, keys: await Promise.all(history.map(importKey)) });
  }

  // One key change at a time: each starts from the keys the previous one left.
  let line: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = line.then(fn);
    line = p.catch(() => undefined);
    return p;
  };

  async function saveKeys(e: Entry, keys: HubKey[]): Promise<void> {
    const kept = keys.slice(0, MAX_KEYS);
    await deps.writer.write((tx) => deps.store.saveKeys(tx, e.participant.id, kept.map(published), now()));
    const participant = { ...e.participant, signingKey: kept[0]!.key };
    remember({ participant, keys: kept }, e.participant);
  }

  /** Runs a key change by `node` and records it in the audit log, refused or not. */
  async function audited<T>(
    node: string,
    action: string,
    subject: string | null,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await serial(fn);
      await deps.audit?.append({ actor: `node:${node}`, action, subject, outcome: 'ok' });
      return result;
    } catch (e) {
      const outcome = e instanceof SemopsError ? e.code : 'INTERNAL';
      await deps.audit?.append({ actor: `node:${node}`, action, subject, outcome }).catch(() => undefined);
      throw e;
    }
  }

  /**
   * A statement about `e`'s keys, verified with the key that signed it, which must be one the hub holds for
   * that participant and still accepts.
   */
  async function statementOf(e: Entry, statement: string, proof?: string) {
    const { kid } = peekKeyStatement(statement);
    const signer = kid.includes('#') ? pickKey(e.keys, kid, now()) : undefined;
    const node = e.participant.id;
    if (!signer || nodeOfKeyId(kid) !== node) {
      throw invalid(`The statement is signed by ${kid.slice(0, 80)}, not a key the hub holds for ${node}.`);
    }
    const at = { now: now(), ...(proof === undefined ? {} : { proof }) };
    const s = await verifyKeyStatement(statement, { kid: signer.kid, key: signer.publicKey }, node, at);
    return { signer, s };
  }

  const entryOf = (node: string): Entry => {
    const e = entries.get(node);
    if (!e) throw new SemopsError('PARTICIPANT_NOT_FOUND', `${node} is not registered at the hub.`);
    return e;
  };

  return {
    list: () => [...entries.values()].map((e) => ({ ...e.participant, signingKeys: e.keys.map(published) })),
    get: (id) => entries.get(id)?.participant,
    byRoutingPrefix(prefix) {
      const id = byPrefix.get(prefix);
      return id === undefined ? undefined : entries.get(id)?.participant;
    },
    tlsPinFor(origin) {
      for (const { participant: p } of entries.values()) {
        if (p.tlsCertSha256 !== undefined && new URL(p.baseUrl).origin === origin) return p.tlsCertSha256;
      }
      return undefined;
    },
    resolveKey(kid) {
      const e = entries.get(nodeOfKeyId(kid));
      return e ? pickKey(e.keys, kid, now())?.publicKey : undefined;
    },

    async register(input) {
      const p = normalize(input);
      if (p.id === HUB_ID)
        throw new SemopsError('VALIDATION_FAILED', `The id ${HUB_ID} is reserved for the hub.`);
      checkKeys(p);
      const kid = await signingKeyId(p.id, p.signingKey);
      const t = now();
      const before = entries.get(p.id);
      let keys: HubKey[];
      if (!before) keys = [await importKey({ kid, key: p.signingKey, since: t })];
      else if (before.keys[0]!.kid === kid) keys = [...before.keys];
      else if (before.keys.some((k) => k.kid === kid)) {
        throw new SemopsError('VALIDATION_FAILED', `The signing key ${kid} was retired; register a new key.`);
      } else {
        // The operator's replacement takes effect at once: no overlap for the keys it replaces.
        keys = [
          await importKey({ kid, key: p.signingKey, since: t }),
          ...before.keys.map((k) => endBy(k, t)),
        ];
      }
      keys = keys.slice(0, MAX_KEYS);
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
        return deps.store.upsert(tx, p, keys.map(published), t);
      });
      remember({ participant: p, keys }, entries.get(p.id)?.participant);
      return { participant: p, created };
    },

    rotate(node, body) {
      return audited(node, 'keys.rotate', signerKidOf(body.statement), async () => {
        const e = entryOf(node);
        const { signer, s } = await statementOf(e, body.statement, body.proof);
        if (s.action !== 'rotate') throw invalid('keys.rotate takes a rotation statement.');
        const [current, previous] = e.keys;
        // A repeat of the rotation that made the current key (the node did not hear the answer).
        if (s.kid === current!.kid && previous?.kid === signer.kid) {
          return { kid: s.kid, previousUntil: previous.until ?? now() };
        }
        if (signer.kid !== current!.kid) {
          throw invalid(`Only the current key ${current!.kid} may rotate ${node}'s keys.`);
        }
        if (e.keys.some((k) => k.kid === s.kid)) {
          throw invalid(`The key ${s.kid} was registered before; a node never goes back to a key.`);
        }
        const t = now();
        const previousUntil = t + s.overlapMs;
        await saveKeys(e, [
          await importKey({ kid: s.kid, key: s.key, since: t }),
          { ...current!, until: previousUntil },
          // At most two keys are accepted at once: a key still in its overlap ends now.
          ...e.keys.slice(1).map((k) => endBy(k, t)),
        ]);
        return { kid: s.kid, previousUntil };
      });
    },

    retire(node, body) {
      return audited(node, 'keys.retire', signerKidOf(body.statement), async () => {
        const e = entryOf(node);
        const { signer, s } = await statementOf(e, body.statement);
        if (s.action !== 'retire') throw invalid('keys.retire takes a retirement statement.');
        if (signer.kid !== e.keys[0]!.kid) {
          throw invalid(`Only the current key ${e.keys[0]!.kid} may retire ${node}'s keys.`);
        }
        const i = e.keys.findIndex((k) => k.kid === s.kid);
        if (i <= 0) throw invalid(`${s.kid} is not an earlier key of ${node}.`);
        const t = now();
        const target = e.keys[i]!;
        if (target.until !== undefined && target.until <= t) return { kid: s.kid, until: target.until };
        await saveKeys(
          e,
          e.keys.map((k, j) => (j === i ? endBy(k, t) : k)),
        );
        return { kid: s.kid, until: t };
      });
    },
  };
}
