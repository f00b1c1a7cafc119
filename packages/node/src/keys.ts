/**
 * A node's key material and secrets, kept in files under its data directory and never in its database:
 * Ed25519 signing keys (the current one, the next one, and the public parts of earlier ones), an X25519
 * encryption key, and named random secrets (PIN hashing key, admin token).
 *
 * Rotation: the node holds its next key ahead of time. `proposeRotation` makes the statement "current → next"
 * signed by both keys; once the registry accepted it (the hub, or the hub itself), `commitRotation` makes the
 * next key current, keeps the old public key accepted until the end of the overlap and makes a new next key.
 * Instances of one processor share the file: `reload` picks up a rotation another instance made.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  readKeyStatement,
  pickKey,
  publicPart,
  signKeyStatement,
  signingKeyId,
  type JWK,
  type Key,
  type KeyPairJwk,
  type KeyStatement,
  type PublishedKey,
  type Signer,
} from '@semops/protocol';

/** Earlier keys and statements kept (and published): enough to verify old receipts and follow a chain. */
const MAX_EARLIER = 15;
const MAX_STATEMENTS = 100;

interface KeyFile {
  /** The current signing key (the field name predates rotation). */
  signing: KeyPairJwk;
  encryption: KeyPairJwk;
  /** When the current key became current; absent for the node's first key. */
  since?: number;
  /** The key the next rotation makes current. */
  next?: KeyPairJwk;
  /** Keys this node signed with before, newest first: public parts only, with the end of their validity. */
  earlier?: { publicJwk: JWK; since: number; until: number }[];
  /** The rotation and retirement statements this node made, oldest first (its chain of custody). */
  statements?: string[];
}

interface OwnKey extends PublishedKey {
  readonly publicKey: Key;
}

interface State {
  readonly file: KeyFile;
  readonly signer: Required<Signer>;
  readonly nextKid: string;
  /** Current first, then earlier keys, newest first. */
  readonly keys: readonly OwnKey[];
  /** The file's version as read (modification time and inode: a save renames a new file into place). */
  readonly version: string;
}

export interface NodeKeyring {
  readonly nodeId: string;
  /** Signs with the current key (`kid` `<node>#<thumbprint>`); always the key current at the time of use. */
  readonly signer: Signer;
  readonly encryptionPublicJwk: JWK;
  readonly encryptionPrivateKey: Key;
  /** The current public key. */
  current(): PublishedKey;
  /** The key id the next rotation makes current. */
  nextKid(): string;
  /** Every key of this node, current first, with its validity (what its `/v1/info` publishes). */
  published(): PublishedKey[];
  /** The statements this node made, oldest first. */
  statements(): readonly string[];
  /**
   * Own public key for a key id at `now` (see `pickKey`): undefined when unknown, KEY_RETIRED past its
   * overlap. With `anyAge`, an earlier key is returned even when retired (own receipts and tickets).
   */
  resolve(kid: string, now: number, opts?: { anyAge?: boolean }): Key | undefined;
  /** The statement "current → next", signed by the current key, and the same signed by the next (proof). */
  proposeRotation(overlapMs: number, now: number): Promise<{ statement: string; proof: string }>;
  /**
   * Makes the rotation in `statement` (made by `proposeRotation`) take effect: the next key becomes current,
   * the old one stays accepted until `previousUntil`, a new next key is made. Repeating it changes nothing.
   */
  commitRotation(statement: string, previousUntil: number): Promise<void>;
  /** The statement "`kid` is retired now", signed by the current key. */
  proposeRetire(kid: string, now: number): Promise<string>;
  /** Records a retirement made by `proposeRetire`. */
  commitRetire(statement: string): Promise<void>;
  /** Re-reads the file when another instance changed it; true when something changed. */
  reload(): Promise<boolean>;
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
}

/** Replaces a file at once (write, then rename), readable only by the node's user. */
function replacePrivate(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * Loads the node's keys from `<dir>/keys.json`, creating them on first start (and a next key when a file
 * from before rotation has none).
 * @example const keys = await openKeyring('.semops/bank-a/keys', 'bank-a'); await sealMessage(keys.signer, …);
 */
export async function openKeyring(dir: string, nodeId: string): Promise<NodeKeyring> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'keys.json');
  if (!existsSync(path)) {
    const file: KeyFile = {
      signing: await generateSigningKeys(),
      encryption: await generateEncryptionKeys(),
      next: await generateSigningKeys(),
    };
    try {
      writePrivate(path, JSON.stringify(file, null, 2));
    } catch (e) {
      // Another instance created it first: use theirs.
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
  }

  const versionOf = () => {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.ino}`;
  };
  async function read(): Promise<State> {
    const version = versionOf();
    const file = JSON.parse(readFileSync(path, 'utf8')) as KeyFile;
    if (!file.next) {
      file.next = await generateSigningKeys();
      replacePrivate(path, JSON.stringify(file, null, 2));
    }
    const currentJwk = publicPart(file.signing.publicJwk);
    const kid = await signingKeyId(nodeId, currentJwk);
    const keys: OwnKey[] = [
      {
        kid,
        key: currentJwk as PublishedKey['key'],
        since: file.since ?? 0,
        publicKey: await importSigningKey(currentJwk),
      },
    ];
    for (const e of file.earlier ?? []) {
      const jwk = publicPart(e.publicJwk);
      keys.push({
        kid: await signingKeyId(nodeId, jwk),
        key: jwk as PublishedKey['key'],
        since: e.since,
        until: e.until,
        publicKey: await importSigningKey(jwk),
      });
    }
    return {
      file,
      signer: { id: nodeId, kid, key: await importSigningKey(file.signing.privateJwk) },
      nextKid: await signingKeyId(nodeId, file.next.publicJwk),
      keys,
      // Changed while being read: the next reload reads it again.
      version: versionOf() === version ? version : '',
    };
  }

  let state = await read();
  // One change of the file at a time in this process.
  let line: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = line.then(fn);
    line = p.catch(() => undefined);
    return p;
  };
  const save = async (file: KeyFile): Promise<void> => {
    replacePrivate(path, JSON.stringify(file, null, 2));
    state = await read();
  };
  const encryption = {
    publicJwk: publicPart(state.file.encryption.publicJwk),
    privateKey: await importEncryptionKey(state.file.encryption.privateJwk),
  };

  const signer: Signer = {
    id: nodeId,
    get key() {
      return state.signer.key;
    },
    get kid() {
      return state.signer.kid;
    },
  };
  const publish = (k: OwnKey): PublishedKey => ({
    kid: k.kid,
    key: k.key,
    since: k.since,
    ...(k.until === undefined ? {} : { until: k.until }),
  });

  return {
    nodeId,
    signer,
    encryptionPublicJwk: encryption.publicJwk,
    encryptionPrivateKey: encryption.privateKey,
    current: () => publish(state.keys[0]!),
    nextKid: () => state.nextKid,
    published: () => state.keys.map(publish),
    statements: () => state.file.statements ?? [],
    resolve(kid, now, opts = {}) {
      if (opts.anyAge) {
        const k = kid.includes('#') ? state.keys.find((x) => x.kid === kid) : state.keys[0];
        return k?.publicKey;
      }
      return pickKey(state.keys, kid, now)?.publicKey;
    },

    async proposeRotation(overlapMs, now) {
      const { file, signer: current, nextKid } = state;
      const next = file.next!;
      const statement: KeyStatement = {
        action: 'rotate',
        node: nodeId,
        kid: nextKid,
        key: publicPart(next.publicJwk) as PublishedKey['key'],
        previous: current.kid,
        overlapMs,
        issuedAt: now,
      };
      return {
        statement: await signKeyStatement(statement, current.key, current.kid),
        proof: await signKeyStatement(statement, await importSigningKey(next.privateJwk), nextKid),
      };
    },

    commitRotation(jws, previousUntil) {
      return serial(async () => {
        const s = readKeyStatement(jws);
        if (s.action !== 'rotate') throw new Error('not a rotation statement');
        if (s.kid === state.signer.kid) return; // done already (a repeat, or another instance)
        if (s.kid !== state.nextKid || s.previous !== state.signer.kid) {
          throw new Error(`the rotation to ${s.kid} is not this node's next rotation`);
        }
        const { file } = state;
        const earlier = [
          { publicJwk: publicPart(file.signing.publicJwk), since: file.since ?? 0, until: previousUntil },
          // At most two keys are accepted at once: a key still in its overlap ends now.
          ...(file.earlier ?? []).map((e) => ({ ...e, until: Math.min(e.until, s.issuedAt) })),
        ].slice(0, MAX_EARLIER);
        await save({
          ...file,
          signing: file.next!,
          since: s.issuedAt,
          next: await generateSigningKeys(),
          earlier,
          statements: [...(file.statements ?? []), jws].slice(-MAX_STATEMENTS),
        });
      });
    },

    async proposeRetire(kid, now) {
      if (!state.keys.slice(1).some((k) => k.kid === kid)) {
        throw new Error(`${kid} is not an earlier key of ${nodeId}`);
      }
      return signKeyStatement(
        { action: 'retire', node: nodeId, kid, issuedAt: now },
        state.signer.key,
        state.signer.kid,
      );
    },

    commitRetire(jws) {
      return serial(async () => {
        const s = readKeyStatement(jws);
        if (s.action !== 'retire') throw new Error('not a retirement statement');
        const { file } = state;
        const earlier = await Promise.all(
          (file.earlier ?? []).map(async (e) =>
            (await signingKeyId(nodeId, e.publicJwk)) === s.kid
              ? { ...e, until: Math.min(e.until, s.issuedAt) }
              : e,
          ),
        );
        await save({
          ...file,
          earlier,
          statements: [...(file.statements ?? []), jws].slice(-MAX_STATEMENTS),
        });
      });
    },

    reload() {
      return serial(async () => {
        if (versionOf() === state.version) return false;
        const before = JSON.stringify(state.file);
        state = await read();
        return JSON.stringify(state.file) !== before;
      });
    },
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
