/**
 * Composition root of the hub: opens its store (SQLite or PostgreSQL), keys and ledger, wires the bounded
 * contexts (participants, directory, positions, fees, transfers, notifications, settlement, request routing)
 * and serves HTTP.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import {
  createIdempotencyStore,
  createLedgerFor,
  createNodeMetrics,
  databaseCheck,
  registerOpsRoutes,
  createNodeClient,
  createReplayGuard,
  createServer,
  openKeyring,
  loadOrCreateSecret,
  registerKeyRoutes,
  type ServerTls,
  openStore,
  registerRateLimits,
  auditRoutes,
  createAuditLog,
  registerMessageEndpoint,
  startLoop,
} from '@semops/node';
import { HUB_MESSAGES, readKeyStatement } from '@semops/protocol';
import { createDirectoryService } from './directory/service.js';
import { createDirectoryStore } from './directory/store.js';
import { registerFeeRoutes } from './fees/routes.js';
import { createFeeService } from './fees/service.js';
import { createFeeStore } from './fees/store.js';
import { messageHandlers } from './messages.js';
import { createHubMetrics } from './metrics.js';
import { createNotifier } from './notifications/service.js';
import { createOutboxStore } from './notifications/store.js';
import { registerParticipantRoutes } from './participants/routes.js';
import { HUB_ID, createParticipantService, type ParticipantService } from './participants/service.js';
import { createParticipantStore } from './participants/store.js';
import { registerPositionRoutes } from './positions/routes.js';
import { createPositionService } from './positions/service.js';
import { createRequestRouter } from './requests/service.js';
import { registerSettlementRoutes } from './settlement/routes.js';
import { createSettlementService } from './settlement/service.js';
import { createSettlementStore } from './settlement/store.js';
import { migrateHub } from './shared/schema.js';
import { createWriter } from './shared/writer.js';
import { registerTransferRoutes } from './transfers/routes.js';
import { createTransferService } from './transfers/service.js';
import { createTransferStore } from './transfers/store.js';

export interface HubOptions {
  /** Directory of `hub.db` (SQLite), `keys/`, `secrets/` and `logs/`; created when missing. */
  readonly dataDir: string;
  /**
   * Where the hub keeps its tables: `postgres://…` (schema `hub`) or a SQLite file path. Default
   * `SEMOPS_DATABASE_URL`, else `<dataDir>/hub.db`.
   */
  readonly databaseUrl?: string;
  /** PostgreSQL schema instead of `hub` (tests use a fresh one per run). */
  readonly schema?: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port; read the chosen one from `url`). */
  readonly port?: number;
  /**
   * Serve HTTPS with this certificate (`loadServerTls`); processors pin its fingerprint. Calls to processors
   * registered with an `https` baseUrl and a `tlsCertSha256` check that pin. Default plain HTTP.
   */
  readonly tls?: ServerTls;
  /** Operator token; default `SEMOPS_ADMIN_TOKEN`, else a random one kept in `secrets/admin-token.secret`. */
  readonly adminToken?: string;
  /**
   * Token that reads `/metrics` and nothing else (the operator token reads it too); default
   * `SEMOPS_METRICS_TOKEN`, else a random one kept in `secrets/metrics-token.secret`.
   */
  readonly metricsToken?: string;
  /** Write pino logs to `<dataDir>/logs/hub.log` (default false). */
  readonly logger?: boolean;
  /** pino level of that log; default `SEMOPS_LOG_LEVEL`, else `info` (`debug`: a line per transfer step). */
  readonly logLevel?: string;
  /** Clock in epoch ms (tests). */
  readonly now?: () => number;
  /** How often reservations past their expiry are aborted (default 200 ms). */
  readonly expiryIntervalMs?: number;
  /** Longest wait for a payee processor's answer to a prepare (default 10 s). */
  readonly forwardTimeoutMs?: number;
  /**
   * Close the open settlement window on a schedule: at every multiple of this many milliseconds (epoch-aligned,
   * so `3_600_000` closes on the hour, UTC), when the window has transfers. Unset: only by command.
   */
  readonly settlementIntervalMs?: number;
  /**
   * First retry of an unacknowledged `settlement.notice`, or of a settlement booking that failed or waits for the
   * ledger to follow its window (default 1 s, doubling to 5 min).
   */
  readonly settlementRetryMs?: number;
}

export interface Hub {
  /** Base URL, e.g. `http://127.0.0.1:7000`. */
  readonly url: string;
  readonly id: 'hub';
  readonly adminToken: string;
  /** Bearer token for `/metrics` (the operator token works too). */
  readonly metricsToken: string;
  /** Stops timers and the server, flushes pending writes and closes the database. Idempotent. */
  close(): Promise<void>;
  readonly app: FastifyInstance;
}

/**
 * Starts a hub.
 * @example
 * const hub = await createHub({ dataDir: '.semops/hub', port: 7000 });
 * console.log(hub.url, hub.adminToken);
 * await hub.close();
 */
export async function createHub(opts: HubOptions): Promise<Hub> {
  const now = opts.now ?? Date.now;
  mkdirSync(opts.dataDir, { recursive: true });
  const keys = await openKeyring(join(opts.dataDir, 'keys'), HUB_ID);
  const adminToken = loadOrCreateSecret(
    join(opts.dataDir, 'secrets'),
    'admin-token',
    opts.adminToken ?? process.env.SEMOPS_ADMIN_TOKEN,
  );
  const metricsToken = loadOrCreateSecret(
    join(opts.dataDir, 'secrets'),
    'metrics-token',
    opts.metricsToken ?? process.env.SEMOPS_METRICS_TOKEN,
  );
  let logger: false | { level: string; file: string } = false;
  if (opts.logger) {
    mkdirSync(join(opts.dataDir, 'logs'), { recursive: true });
    const level = opts.logLevel ?? (process.env.SEMOPS_LOG_LEVEL || 'info');
    logger = { level, file: join(opts.dataDir, 'logs', 'hub.log') };
  }
  const metrics = createNodeMetrics();

  const store = await openStore({
    dataDir: opts.dataDir,
    name: 'hub',
    // SQLite: commits are made durable by one fsync off the event loop for all of a busy moment.
    walSync: true,
    ...(opts.databaseUrl === undefined ? {} : { url: opts.databaseUrl }),
    ...(opts.schema === undefined ? {} : { schema: opts.schema }),
  });
  // Checkpoint the WAL less often (40 MB instead of 4 MB): at thousands of commits a second the default
  // checkpoints (each with an fsync of the database file) cost more than the commits. Durability is unchanged.
  store.sqlite?.pragma('wal_autocheckpoint = 10000');
  // On SQLite the ledger shares the store's one connection and commits inside the store's lock (Kysely's
  // connection lock), so a ledger commit never lands inside a hub transaction. The converse holds too: no hub
  // transaction awaits a ledger call (it would wait for the lock it holds); the ledger steps come before or
  // after the writes, each keyed by the transfer id.
  const [db, ledger] = await (async () => {
    try {
      const onBatch = (jobs: number) => metrics.commitBatch('ledger', jobs);
      return [await migrateHub(store), await createLedgerFor(store, { onBatch })] as const;
    } catch (e) {
      await store.close();
      throw e;
    }
  })();
  const writer = createWriter(db, (size) => metrics.commitBatch('writer', size));
  const replay = await createReplayGuard(store, { now });
  const app = createServer({ logger, ...(opts.tls ? { https: opts.tls } : {}) });
  await registerRateLimits(app);
  const audit = await createAuditLog(store, { now });
  auditRoutes(app, audit, adminToken);
  const signer = keys.signer;

  const positions = createPositionService({ ledger, participants: () => participants });
  const participants: ParticipantService = await createParticipantService({
    store: createParticipantStore(db),
    writer,
    openAccounts: (pid, currencies) => positions.openAccounts(pid, currencies),
    audit,
    now,
  });
  // Processors registered before settlement existed lack their `stl` accounts: open what is missing.
  for (const p of participants.list()) await positions.openAccounts(p.id, p.currencies);
  const hubMetrics = createHubMetrics(metrics, positions);
  const resolveKey = (kid: string) => participants.resolveKey(kid);
  // TLS: a processor registered with an https baseUrl and a fingerprint is reached only through that certificate.
  const tlsPins = { pinFor: (origin: string) => participants.tlsPinFor(origin) };
  const client = createNodeClient({
    signer,
    resolveKey,
    now,
    timeoutMs: opts.forwardTimeoutMs ?? 10_000,
    tls: tlsPins,
  });
  const outbox = createOutboxStore(db);
  const notifier = createNotifier({ store: outbox, writer, client, participants, log: app.log });
  const fees = createFeeService({ store: createFeeStore(db), writer, participants, now });
  const transfers = createTransferService({
    store: createTransferStore(db, outbox),
    writer,
    ledger,
    participants,
    client,
    notifier,
    fees,
    log: app.log,
    metrics: hubMetrics,
    now,
    ...(opts.forwardTimeoutMs === undefined ? {} : { forwardTimeoutMs: opts.forwardTimeoutMs }),
  });
  const settlement = createSettlementService({
    store: createSettlementStore(db),
    writer,
    ledger,
    positions,
    participants,
    client,
    followLedger: (ids) => transfers.followLedger(ids),
    log: app.log,
    audit,
    now,
    ...(opts.settlementIntervalMs === undefined ? {} : { intervalMs: opts.settlementIntervalMs }),
    ...(opts.settlementRetryMs === undefined ? {} : { retryMs: opts.settlementRetryMs }),
  });
  const directory = createDirectoryService({ store: createDirectoryStore(db), writer, now });
  const requests = createRequestRouter({ participants, client });

  registerOpsRoutes(app, {
    checks: { database: databaseCheck(store) },
    metrics,
    tokens: [metricsToken, adminToken],
  });
  registerParticipantRoutes(app, { participants, adminToken, hubKeys: keys });
  // The hub is its own registry: its rotation takes effect here, and processors follow its statements.
  registerKeyRoutes(app, {
    keyring: keys,
    adminToken,
    now,
    publisher: {
      rotate: async (statement) => {
        const s = readKeyStatement(statement);
        return { previousUntil: s.issuedAt + (s.action === 'rotate' ? s.overlapMs : 0) };
      },
      retire: async (statement) => ({ until: readKeyStatement(statement).issuedAt }),
    },
  });
  registerPositionRoutes(app, { positions, adminToken, idempotency: await createIdempotencyStore(store) });
  registerTransferRoutes(app, { transfers, adminToken });
  registerFeeRoutes(app, { fees, adminToken });
  registerSettlementRoutes(app, { settlement, adminToken });
  registerMessageEndpoint(app, {
    signer,
    resolveKey,
    replay,
    now,
    router: HUB_MESSAGES,
    handlers: messageHandlers({ transfers, directory, requests, participants }),
  });

  // Finish what a previous run left half-done before taking new work.
  await transfers.sweep({ startup: true });
  await notifier.start();
  await settlement.start();

  // Expires reservations past their time and makes the ledger follow final states it missed.
  const sweep = startLoop({
    name: 'transfer sweep',
    everyMs: opts.expiryIntervalMs ?? 200,
    run: () => transfers.sweep(),
    log: app.log.child({ feature: 'transfers' }),
    runAtStart: false,
  });

  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;
  await transfers.resumeForwarding();
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await sweep.stop();
    await app.close();
    const stopping = settlement.stop();
    // Abort calls still waiting on processors: everything they would settle is recovered after a restart.
    await client.close();
    await stopping;
    await transfers.close();
    await notifier.close();
    await writer.drain();
    await ledger.close();
    await replay.close();
    await store.close();
  };

  return {
    url: `${opts.tls ? 'https' : 'http'}://${urlHost}:${port}`,
    id: HUB_ID,
    adminToken,
    metricsToken,
    app,
    close: () => (closing ??= close()),
  };
}
