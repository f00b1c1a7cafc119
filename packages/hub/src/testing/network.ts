/**
 * Test fixture: a real hub in a temporary directory and two fake processors registered with it
 * (`bank-a`, routing prefix 101, and `mno-b`, prefix 202, both clearing EUR), optionally a third (`bank-c`,
 * prefix 303) and other currencies. The hub's store is SQLite in that directory unless `databaseUrl` says
 * `postgres://…` (then pass a `schema` of its own; it is dropped by `close`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { isPostgresUrl, openStore, type Store } from '@semops/node';
import {
  importEncryptionKey,
  importSigningKey,
  newId,
  type Key,
  type TransferPrepare,
} from '@semops/protocol';
import { createHub, type Hub, type HubOptions } from '../app.js';
import type { PositionView } from '../positions/service.js';
import { createFakeProcessor, type FakeProcessor } from './fake-processor.js';

export interface TestNetwork {
  hub: Hub;
  readonly dataDir: string;
  readonly a: FakeProcessor;
  readonly b: FakeProcessor;
  /** `bank-c`, with `{ third: true }`. */
  readonly c: FakeProcessor | undefined;
  /** Calls the hub's HTTP API; `token` defaults to the admin token (pass null for none). */
  http<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<{ status: number; body: T }>;
  deposit(processorId: string, value: string, currency?: string): Promise<void>;
  position(processorId: string, currency?: string): Promise<PositionView>;
  /** A prepare from bank-a to mno-b. */
  transfer(overrides?: Partial<TransferPrepare>): TransferPrepare;
  /** Closes the hub and starts it again on the same data directory and store. */
  restartHub(opts?: Partial<HubOptions>): Promise<void>;
  /** Opens the hub's store as the hub does (for tests that write its tables while it is down). */
  openHubStore(): Promise<Store>;
  /** Closes everything, deletes the data directory and drops a PostgreSQL schema given in the options. */
  close(): Promise<void>;
}

export interface NetworkOptions {
  /** The currencies every processor clears (default EUR). */
  readonly currencies?: string[];
  /** Also start and register `bank-c`. */
  readonly third?: boolean;
}

export async function startNetwork(
  opts: Partial<HubOptions> = {},
  netOpts: NetworkOptions = {},
): Promise<TestNetwork> {
  const dataDir = mkdtempSync(join(tmpdir(), 'semops-hub-'));
  const hubOpts: HubOptions = {
    dataDir,
    port: 0,
    adminToken: 'test-admin-token-123',
    expiryIntervalMs: 50,
    ...opts,
    // SQLite in the temporary directory by default, whatever SEMOPS_DATABASE_URL says.
    databaseUrl: opts.databaseUrl ?? join(dataDir, 'hub.db'),
  };
  const openHubStore = (): Promise<Store> =>
    openStore({
      dataDir,
      name: 'hub',
      url: hubOpts.databaseUrl,
      ...(hubOpts.schema === undefined ? {} : { schema: hubOpts.schema }),
    });
  /** Deletes the data directory and drops the test's PostgreSQL schema. */
  const discard = async (): Promise<void> => {
    rmSync(dataDir, { recursive: true, force: true });
    if (!isPostgresUrl(hubOpts.databaseUrl) || hubOpts.schema === undefined) return;
    const store = await openHubStore();
    try {
      await sql`DROP SCHEMA ${sql.id(store.pg?.schema ?? hubOpts.schema)} CASCADE`.execute(store.db);
    } finally {
      await store.close();
    }
  };
  let hub = await createHub(hubOpts).catch(async (e: unknown) => {
    await discard();
    throw e;
  });
  let hubKey: Key | undefined;
  const loadHubKey = async (): Promise<void> => {
    const info = (await (await fetch(`${hub.url}/v1/info`)).json()) as {
      signingKey: Parameters<typeof importSigningKey>[0];
    };
    hubKey = await importSigningKey(info.signingKey);
  };
  await loadHubKey();
  const a = await createFakeProcessor({ id: 'bank-a', hubUrl: () => hub.url, hubKey: () => hubKey });
  const b = await createFakeProcessor({ id: 'mno-b', hubUrl: () => hub.url, hubKey: () => hubKey });
  const c = netOpts.third
    ? await createFakeProcessor({ id: 'bank-c', hubUrl: () => hub.url, hubKey: () => hubKey })
    : undefined;
  const all = c ? [a, b, c] : [a, b];
  for (const p of all) {
    for (const q of all) {
      if (p !== q) p.knowEncryptionKey(q.id, await importEncryptionKey(q.encryption.publicJwk));
    }
  }

  const net: TestNetwork = {
    hub,
    dataDir,
    a,
    b,
    c,
    async http<T>(method: string, path: string, body?: unknown, token?: string | null) {
      const headers: Record<string, string> = {};
      const auth = token === undefined ? net.hub.adminToken : token;
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${net.hub.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async deposit(processorId, value, currency = 'EUR') {
      const r = await net.http('POST', '/v1/admin/liquidity', {
        processorId,
        amount: { value, currency },
        direction: 'deposit',
      });
      if (r.status !== 200) throw new Error(`deposit failed: ${JSON.stringify(r.body)}`);
    },
    async position(processorId, currency = 'EUR') {
      const r = await net.http<{ positions: PositionView[] }>('GET', '/v1/admin/positions');
      const p = r.body.positions.find((x) => x.processorId === processorId && x.currency === currency);
      if (!p) throw new Error(`no position for ${processorId}`);
      return p;
    },
    transfer: (overrides = {}) => ({
      transferId: newId('pay'),
      requestId: newId('req'),
      payer: 'bank-a',
      payee: 'mno-b',
      amount: { value: '1000', currency: 'EUR' },
      expiresAt: Date.now() + 5_000,
      ...overrides,
    }),
    async restartHub(more = {}) {
      await hub.close();
      hub = await createHub({ ...hubOpts, ...more });
      net.hub = hub;
      await loadHubKey();
    },
    openHubStore,
    async close() {
      await hub.close();
      await a.close();
      await b.close();
      await c?.close();
      await discard();
    },
  };
  for (const [p, prefix] of [[a, '101'], [b, '202'], ...(c ? ([[c, '303']] as const) : [])] as const) {
    const r = await net.http(
      'PUT',
      `/v1/admin/participants/${p.id}`,
      p.participant(prefix, netOpts.currencies),
    );
    if (r.status !== 201) throw new Error(`registration failed: ${JSON.stringify(r.body)}`);
  }
  return net;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
