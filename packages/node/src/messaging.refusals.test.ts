// What a node's message endpoint refuses, and what a node refuses in an answer: forged, tampered, stripped,
// expired, replayed, misaddressed messages and senders it does not take — each refused with its stable code,
// before any handler runs. The endpoint here runs with the node's real replay guard on a SQLite file, a
// clock the test sets, and the node's crypto (importing the package installs it).
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MESSAGE_TYP,
  SemopsError,
  generateSigningKeys,
  importSigningKey,
  openMessage,
  publicPart,
  sealMessage,
  signJson,
  z,
  type Envelope,
  type Key,
  type MessageRouter,
  type Signer,
} from '@semops/protocol';
import {
  createNodeClient,
  createReplayGuard,
  createServer,
  openStore,
  registerMessageEndpoint,
  type NodeClient,
  type PersistentReplayGuard,
  type Store,
} from './index.js';

/** What the test's `bank-a` answers: a payment order that must be carried out once. */
const BANK = {
  'pay.once': {
    body: z.strictObject({ order: z.string(), cents: z.number().int().positive() }),
    result: z.strictObject({ done: z.string() }),
  },
} as const satisfies MessageRouter;

const T0 = 1_800_000_000_000;
/** The nodes with keys: bank-a knows all of them but `eve`, and takes messages from `hub` and `mno-b` only. */
const NODES = ['hub', 'bank-a', 'mno-b', 'mallory', 'eve'] as const;
type NodeId = (typeof NODES)[number];
const signers = {} as Record<NodeId, Signer>;
const publicKeys = {} as Record<NodeId, Key>;
const knownToBankA = (id: string): Key | undefined =>
  id === 'eve' || !Object.hasOwn(publicKeys, id) ? undefined : publicKeys[id as NodeId];

let dir: string;
let store: Store;
let guard: PersistentReplayGuard;
let app: FastifyInstance;
let url: string;
let clock = T0;
/** The orders bank-a carried out, in order. */
const done: string[] = [];

async function startBankA(): Promise<void> {
  guard = await createReplayGuard(store, { now: () => clock });
  app = createServer();
  registerMessageEndpoint(app, {
    signer: signers['bank-a'],
    resolveKey: knownToBankA,
    replay: guard,
    router: BANK,
    senders: ['hub', 'mno-b'],
    now: () => clock,
    handlers: {
      'pay.once': async ({ order }) => {
        done.push(order);
        return { done: order };
      },
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function stopBankA(): Promise<void> {
  await app.close();
  await guard.close();
}

beforeAll(async () => {
  for (const id of NODES) {
    const k = await generateSigningKeys();
    signers[id] = { id, key: await importSigningKey(k.privateJwk) };
    publicKeys[id] = await importSigningKey(publicPart(k.publicJwk));
  }
  dir = mkdtempSync(join(tmpdir(), 'semops-messages-'));
  store = await openStore({ dataDir: dir, name: 'bank-a', url: join(dir, 'bank-a.db') });
  await startBankA();
});
afterAll(async () => {
  await stopBankA();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  clock = T0;
});

/** Posts `{ jws }` to bank-a as any node (or anyone) would; returns the status and the error code if any. */
async function post(jws: unknown): Promise<{ status: number; code?: string; jws?: string }> {
  const res = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jws }),
  });
  const body = (await res.json()) as { jws?: string; error?: { code: string } };
  return {
    status: res.status,
    ...(body.error ? { code: body.error.code } : {}),
    ...(body.jws ? { jws: body.jws } : {}),
  };
}

/** A message of `from` to `to`, sealed at the test's clock unless `at` says otherwise. */
async function seal(from: NodeId, order: string, opts: { to?: string; at?: number; ttlMs?: number } = {}) {
  return sealMessage(
    signers[from],
    opts.to ?? 'bank-a',
    'pay.once',
    { order, cents: 500 },
    { now: opts.at ?? clock, ...(opts.ttlMs === undefined ? {} : { ttlMs: opts.ttlMs }) },
  );
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('the message endpoint', () => {
  it('carries out a genuine message once, answers it signed to the sender, and refuses the same message again', async () => {
    const { envelope, jws } = await seal('hub', 'order-1');
    const first = await post(jws);
    expect(first.status).toBe(200);
    const answer = await openMessage(first.jws, { me: 'hub', resolveKey: knownToBankA, now: clock });
    expect(answer).toMatchObject({
      sender: 'bank-a',
      receiver: 'hub',
      type: 'pay.once.result',
      body: { done: 'order-1' },
    });
    expect(await post(jws)).toMatchObject({ status: 409, code: 'MESSAGE_REPLAYED' });
    expect(done.filter((o) => o === 'order-1')).toEqual(['order-1']);
    // Re-signing the same envelope (same id) is the same message.
    const again = await signJson(envelope, signers.hub.key, 'hub', MESSAGE_TYP);
    expect(await post(again)).toMatchObject({ status: 409, code: 'MESSAGE_REPLAYED' });
    expect(done.filter((o) => o === 'order-1')).toHaveLength(1);
  });

  it('refuses a message signed with another key than the sender it names, and a tampered one', async () => {
    const before = done.length;
    const { envelope, jws } = await seal('hub', 'order-2');
    // mallory signs the hub's envelope with her own key, under the hub's key id.
    const forged = await signJson(envelope, signers.mallory.key, 'hub', MESSAGE_TYP);
    expect(await post(forged)).toMatchObject({ status: 401, code: 'SIGNATURE_INVALID' });
    // mallory signs with her key id, but the envelope says it comes from the hub.
    const posing = await signJson(envelope, signers.mallory.key, 'mallory', MESSAGE_TYP);
    expect(await post(posing)).toMatchObject({ status: 401, code: 'SIGNATURE_INVALID' });
    // The hub's signature over other content: the amount changed after signing.
    const [h, , s] = jws.split('.');
    const tampered = `${h}.${b64({ ...envelope, body: { order: 'order-2', cents: 50_000 } })}.${s}`;
    expect(await post(tampered)).toMatchObject({ status: 401, code: 'SIGNATURE_INVALID' });
    expect(done.length).toBe(before);
    // None of them used up the genuine message's id: it is carried out.
    expect((await post(jws)).status).toBe(200);
    expect(done.slice(before)).toEqual(['order-2']);
  });

  it('refuses a message with its signature stripped, an unsigned one (alg none), and what is not a JWS', async () => {
    const before = done.length;
    const { envelope, jws } = await seal('hub', 'order-3');
    const [h, p] = jws.split('.');
    expect(await post(`${h}.${p}.`)).toMatchObject({ status: 401, code: 'SIGNATURE_INVALID' });
    const none = `${b64({ alg: 'none', kid: 'hub', typ: MESSAGE_TYP })}.${b64(envelope)}.`;
    expect(await post(none)).toMatchObject({ status: 400, code: 'MESSAGE_MALFORMED' });
    expect(await post(`${h}.${p}`)).toMatchObject({ status: 400, code: 'MESSAGE_MALFORMED' });
    expect(await post(42)).toMatchObject({ status: 400, code: 'MESSAGE_MALFORMED' });
    expect(await post(undefined)).toMatchObject({ status: 400, code: 'MESSAGE_MALFORMED' });
    // Signed by the hub, but not a message (another token type).
    const receipt = await signJson(envelope, signers.hub.key, 'hub', 'semops-receipt+jws');
    expect(await post(receipt)).toMatchObject({ status: 400, code: 'MESSAGE_MALFORMED' });
    expect(done.length).toBe(before);
  });

  it('refuses a sender it does not know, a known node it does not take messages from, and a message to another node', async () => {
    const before = done.length;
    expect(await post((await seal('eve', 'order-4')).jws)).toMatchObject({
      status: 401,
      code: 'UNKNOWN_SENDER',
    });
    expect(await post((await seal('mallory', 'order-4')).jws)).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
    });
    const toMnoB = await seal('hub', 'order-4', { to: 'mno-b' });
    expect(await post(toMnoB.jws)).toMatchObject({ status: 400, code: 'WRONG_RECEIVER' });
    expect(done.length).toBe(before);
    // A sender it does take, to it: carried out.
    expect((await post((await seal('mno-b', 'order-4')).jws)).status).toBe(200);
    expect(done.slice(before)).toEqual(['order-4']);
  });

  it('refuses an expired message, one dated in the future, and one that claims a lifetime too long', async () => {
    const before = done.length;
    // Sealed 61 s ago with the default 60 s lifetime.
    expect(await post((await seal('hub', 'order-5', { at: clock - 61_000 })).jws)).toMatchObject({
      status: 400,
      code: 'MESSAGE_EXPIRED',
    });
    // Dated more than the tolerated clock skew (30 s) ahead.
    expect(await post((await seal('hub', 'order-5', { at: clock + 31_000 })).jws)).toMatchObject({
      status: 400,
      code: 'MESSAGE_FROM_FUTURE',
    });
    expect(await post((await seal('hub', 'order-5', { ttlMs: 11 * 60_000 })).jws)).toMatchObject({
      status: 400,
      code: 'MESSAGE_MALFORMED',
    });
    expect(done.length).toBe(before);
    // Within the skew, either way: accepted.
    expect((await post((await seal('hub', 'order-5', { at: clock + 29_000 })).jws)).status).toBe(200);
    expect((await post((await seal('hub', 'order-5b', { at: clock - 59_000 })).jws)).status).toBe(200);
    expect(done.slice(before)).toEqual(['order-5', 'order-5b']);
  });

  it('refuses a replay after the message expired as expired (the guard may forget ids past their expiry)', async () => {
    const { jws } = await seal('hub', 'order-6');
    expect((await post(jws)).status).toBe(200);
    clock += 61_000;
    expect(await post(jws)).toMatchObject({ status: 400, code: 'MESSAGE_EXPIRED' });
    expect(done.filter((o) => o === 'order-6')).toHaveLength(1);
  });

  it('refuses a replay after the node restarted: the ids it accepted are kept in its store', async () => {
    const { jws } = await seal('hub', 'order-7');
    expect((await post(jws)).status).toBe(200);
    await stopBankA();
    await startBankA();
    expect(await post(jws)).toMatchObject({ status: 409, code: 'MESSAGE_REPLAYED' });
    expect(done.filter((o) => o === 'order-7')).toHaveLength(1);
  });
});

describe('the answer a node accepts', () => {
  /** A stand-in for bank-a that answers what the test says. */
  let rogue: FastifyInstance;
  let rogueUrl: string;
  let answer: (m: Envelope) => Promise<{ status: number; body: unknown }>;
  let release: () => void = () => undefined;
  let hub: NodeClient;

  beforeAll(async () => {
    rogue = createServer();
    rogue.post('/v1/messages', async (req, reply) => {
      const m = await openMessage((req.body as { jws: string }).jws, {
        me: 'bank-a',
        resolveKey: knownToBankA,
        now: clock,
      });
      const a = await answer(m);
      return reply.code(a.status).send(a.body);
    });
    await rogue.listen({ host: '127.0.0.1', port: 0 });
    rogueUrl = `http://127.0.0.1:${(rogue.server.address() as AddressInfo).port}`;
    hub = createNodeClient({ signer: signers.hub, resolveKey: knownToBankA, now: () => clock });
  });
  afterAll(async () => {
    release();
    await hub.close();
    await rogue.close();
  });

  const send = (timeoutMs?: number) =>
    hub.send(
      BANK,
      rogueUrl,
      'bank-a',
      'pay.once',
      { order: 'order-9', cents: 100 },
      timeoutMs ? { timeoutMs } : {},
    );
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'OK',
      (e: unknown) => (e instanceof SemopsError ? e.code : String(e)),
    );
  /** An answer to `m` sealed by `from` (default bank-a), with envelope fields overridden. */
  const sealed = async (
    m: Envelope,
    opts: { from?: NodeId; key?: Key; to?: string; type?: string; at?: number; body?: unknown } = {},
  ) => {
    const from = opts.from ?? 'bank-a';
    const { envelope } = await sealMessage(
      signers[from],
      opts.to ?? m.sender,
      opts.type ?? `${m.type}.result`,
      opts.body ?? { done: 'order-9' },
      { now: opts.at ?? clock },
    );
    return {
      status: 200,
      body: { jws: await signJson(envelope, opts.key ?? signers[from].key, from, MESSAGE_TYP) },
    };
  };

  it('takes a genuine answer of the node it asked', async () => {
    answer = (m) => sealed(m);
    expect(await send()).toEqual({ done: 'order-9' });
  });

  it('refuses an answer forged under the node’s key id, one from another node, one for another node, one of another type', async () => {
    answer = (m) => sealed(m, { key: signers.mallory.key });
    expect(await codeOf(send())).toBe('SIGNATURE_INVALID');
    answer = (m) => sealed(m, { from: 'mno-b' });
    expect(await codeOf(send())).toBe('MESSAGE_MALFORMED');
    answer = (m) => sealed(m, { to: 'mno-b' });
    expect(await codeOf(send())).toBe('WRONG_RECEIVER');
    answer = (m) => sealed(m, { type: 'pay.twice.result' });
    expect(await codeOf(send())).toBe('MESSAGE_MALFORMED');
    answer = (m) => sealed(m, { body: { done: 42 } });
    expect(await codeOf(send())).toBe('MESSAGE_MALFORMED');
  });

  it('refuses an expired answer and an unsigned one', async () => {
    answer = (m) => sealed(m, { at: clock - 61_000 });
    expect(await codeOf(send())).toBe('MESSAGE_EXPIRED');
    answer = async () => ({ status: 200, body: { done: 'order-9' } });
    expect(await codeOf(send())).toBe('MESSAGE_MALFORMED');
  });

  it('rebuilds the typed error the node answered, and reports a node that does not answer as unreachable', async () => {
    answer = async () => ({ status: 422, body: { error: { code: 'INSUFFICIENT_FUNDS', message: 'No.' } } });
    expect(await codeOf(send())).toBe('INSUFFICIENT_FUNDS');
    answer = () =>
      new Promise((resolve) => {
        release = () => resolve({ status: 503, body: {} });
      });
    expect(await codeOf(send(200))).toBe('PARTICIPANT_UNREACHABLE');
    release();
    const closed = createNodeClient({ signer: signers.hub, resolveKey: knownToBankA });
    try {
      expect(
        await codeOf(closed.send(BANK, 'http://127.0.0.1:1', 'bank-a', 'pay.once', { order: 'x', cents: 1 })),
      ).toBe('PARTICIPANT_UNREACHABLE');
    } finally {
      await closed.close();
    }
  });
});
