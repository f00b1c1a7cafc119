/**
 * Composition root of a payment processor node (a bank or a mobile operator): opens its database and ledger,
 * loads its keys and secrets, links to the hub, wires the services and routes, and starts its workers.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Ledger } from '@semops/ledger';
import {
  createIdempotencyStore,
  createReplayGuard,
  createServer,
  openKeyring,
  loadOrCreateSecret,
  registerKeyRoutes,
  staticPins,
  type ServerTls,
  createLedgerFor,
  createSql,
  openStore,
  registerMessageEndpoint,
  registerRateLimits,
  startLoop,
  auditRoutes,
  createAuditLog,
  requireAdmin,
  cachedCheck,
  createNodeMetrics,
  databaseCheck,
  registerOpsRoutes,
} from '@semops/node';
import { PROCESSOR_MESSAGES, importEncryptionKey } from '@semops/protocol';
import { migrateProcessor } from './migrations/index.js';
import { createHubLink } from './hub/link.js';
import { registerCustomerRoutes } from './customers/routes.js';
import { registerAccountRoutes } from './customers/account-routes.js';
import { registerMerchantRoutes } from './merchants/routes.js';
import { registerRequestRoutes } from './requests/routes.js';
import { registerPaymentRoutes } from './payments/routes.js';
import { ledgerSummary } from './ledger-summary.js';
import { registerChannelRoutes } from './channels/routes.js';
import { registerWebPages } from './web.js';
import { registerP2pRoutes } from './p2p/routes.js';
import { registerRefundRoutes } from './refunds/routes.js';
import { registerMandateRoutes } from './mandates/routes.js';
import { registerAgentRoutes } from './agents/routes.js';
import { registerBillRoutes } from './bills/routes.js';
import { QUOTE_PURGE_INTERVAL_MS, type FxOptions } from './fx/service.js';
import { registerFxRoutes } from './fx/routes.js';
import { registerSettlementRoutes } from './settlement/routes.js';
import { createProcessorServices } from './services.js';
import type { PayeeNameRule } from './customers/service.js';
import type { StatementDeps } from './customers/statement.js';
import { PROCESSOR_MESSAGE_SENDERS, processorMessageHandlers } from './messages.js';
import { createProcessorMetrics } from './metrics.js';

export interface ProcessorOptions {
  readonly id: string;
  readonly name: string;
  readonly kind: 'bank' | 'mno';
  readonly currencies: readonly string[];
  readonly routingPrefix: string;
  readonly country: string;
  readonly dataDir: string;
  readonly hubUrl: string;
  readonly host?: string;
  readonly port?: number;
  readonly adminToken?: string;
  /**
   * Token that reads `/metrics` and nothing else (the operator token reads it too); default
   * `SEMOPS_METRICS_TOKEN`, else a random one kept in `secrets/metrics-token.secret`.
   */
  readonly metricsToken?: string;
  /** Network-wide key for blinding phone numbers in the hub directory (shared by processors, not the hub). */
  readonly directoryKey?: string;
  /** `postgres://…` or a SQLite path; default `SEMOPS_DATABASE_URL`, then `<dataDir>/<id>.db`. */
  readonly databaseUrl?: string;
  /** PostgreSQL schema (default: the processor id); several instances of one processor share it. */
  readonly schema?: string;
  /** Lifetime of a prepared transfer before the hub aborts it. */
  readonly transferTtlMs?: number;
  readonly reconcileIntervalMs?: number;
  /**
   * Currency conversion for customers paying requests in another currency (rates, spread, fee, quotes): what
   * is given is applied at start (`FxService.init`), what is left out keeps the value in the database.
   */
  readonly fx?: FxOptions;
  /**
   * A further instance of a processor already running on the same database (`--instance`): it applies no
   * start setting that the running processor holds (FX spread, fee, quote validity, rates).
   */
  readonly instance?: boolean;
  /**
   * How much of a customer's name someone paying them (or asked by them for money) sees: `first-name`
   * (default, `Ben O.`) or `initials` (`B*** O***`).
   */
  readonly payeeNames?: PayeeNameRule;
  /** Serve HTTPS with this certificate (`loadServerTls`); the hub pins its fingerprint. Default plain HTTP. */
  readonly tls?: ServerTls;
  /**
   * SHA-256 fingerprint of the hub's TLS certificate (an `https` hub URL): the processor talks to the hub only
   * when it presents that certificate. Without it an https hub is checked against the system's CAs.
   */
  readonly hubCertSha256?: string;
  /** Write pino logs to `<dataDir>/logs/<id>.log`. */
  readonly logger?: boolean;
  /** pino level of that log; default `SEMOPS_LOG_LEVEL`, else `info` (`debug`: a line per payment step). */
  readonly logLevel?: string;
  readonly now?: () => number;
}

export interface ProcessorNode {
  readonly id: string;
  readonly url: string;
  readonly adminToken: string;
  /** Bearer token for `/metrics` (the operator token works too). */
  readonly metricsToken: string;
  readonly app: FastifyInstance;
  readonly ledger: Ledger;
  close(): Promise<void>;
}

export async function createProcessor(opts: ProcessorOptions): Promise<ProcessorNode> {
  const now = opts.now ?? Date.now;
  mkdirSync(join(opts.dataDir, 'logs'), { recursive: true });
  const secretsDir = join(opts.dataDir, 'secrets');
  if (opts.hubCertSha256 !== undefined && !opts.hubUrl.startsWith('https://')) {
    throw new Error('hubCertSha256 pins the certificate of an https hub URL; the hub URL is plain http.');
  }
  const keys = await openKeyring(join(opts.dataDir, 'keys'), opts.id);
  const adminToken = loadOrCreateSecret(
    secretsDir,
    'admin-token',
    opts.adminToken ?? process.env.SEMOPS_ADMIN_TOKEN,
  );
  const metricsToken = loadOrCreateSecret(
    secretsDir,
    'metrics-token',
    opts.metricsToken ?? process.env.SEMOPS_METRICS_TOKEN,
  );
  const pinKey = loadOrCreateSecret(secretsDir, 'pin-hmac-key', process.env.SEMOPS_PIN_KEY);
  const directoryKey = loadOrCreateSecret(
    secretsDir,
    'directory-key',
    opts.directoryKey ?? process.env.SEMOPS_DIRECTORY_KEY,
  );

  const store = await openStore({
    dataDir: opts.dataDir,
    name: opts.id,
    // SQLite: group commit with the fsync off the event loop (every write waits for it before it counts).
    walSync: true,
    ...(opts.databaseUrl ? { url: opts.databaseUrl } : {}),
    ...(opts.schema ? { schema: opts.schema } : {}),
  });
  await migrateProcessor(store);
  const nodeMetrics = createNodeMetrics();
  const metrics = createProcessorMetrics(nodeMetrics);
  const q = createSql(store, { onCommit: (size) => nodeMetrics.commitBatch('sql', size) });
  const ledger = await createLedgerFor(store, { onBatch: (jobs) => nodeMetrics.commitBatch('ledger', jobs) });
  const level = opts.logLevel ?? (process.env.SEMOPS_LOG_LEVEL || 'info');
  const app = createServer({
    logger: opts.logger ? { level, file: join(opts.dataDir, 'logs', `${opts.id}.log`) } : false,
    ...(opts.tls ? { https: opts.tls } : {}),
  });
  await registerRateLimits(app);
  const audit = await createAuditLog(store, { now });
  auditRoutes(app, audit, adminToken);

  const signer = keys.signer;
  const hub = await createHubLink({
    hubUrl: opts.hubUrl,
    signer,
    dataDir: opts.dataDir,
    self: {
      id: opts.id,
      resolve: (kid, t) => keys.resolve(kid, t),
      encryption: await importEncryptionKey(keys.encryptionPublicJwk),
    },
    ...(opts.hubCertSha256 ? { tls: staticPins({ [opts.hubUrl]: opts.hubCertSha256 }) } : {}),
    now,
  });
  const idempotency = await createIdempotencyStore(store);
  const services = await createProcessorServices({
    q,
    ledger,
    hub,
    id: opts.id,
    kind: opts.kind,
    currencies: opts.currencies,
    routingPrefix: opts.routingPrefix,
    country: opts.country,
    keys: {
      signer,
      // Own receipts and tickets stay checkable after a rotation (a ticket is also compared as stored).
      ownKey: (kid) => keys.resolve(kid, now(), { anyAge: true }),
      encryptionPrivateKey: keys.encryptionPrivateKey,
    },
    secrets: { pinKey, directoryKey },
    transferTtlMs: opts.transferTtlMs ?? Number(process.env.SEMOPS_TRANSFER_TTL_MS ?? 30_000),
    ...(opts.fx ? { fx: opts.fx } : {}),
    ...(opts.payeeNames ? { payeeNames: opts.payeeNames } : {}),
    furtherInstance: opts.instance ?? false,
    now,
    log: app.log,
    metrics,
  });
  const { customers, merchants, requests, payments, p2p, fx, limits, vouchers, notifications } = services;

  registerOpsRoutes(app, {
    checks: { database: databaseCheck(store), hub: cachedCheck(() => hub.ping()) },
    metrics: nodeMetrics,
    tokens: [metricsToken, adminToken],
  });
  app.get('/v1/info', async () => ({
    id: opts.id,
    name: opts.name,
    kind: opts.kind,
    currencies: opts.currencies,
    routingPrefix: opts.routingPrefix,
    country: opts.country,
    signingKey: keys.current().key,
    encryptionKey: keys.encryptionPublicJwk,
    // Every key of this processor with its validity, and its rotation statements: receipts signed before a
    // rotation stay verifiable offline by their key id.
    signingKeys: keys.published(),
    statements: keys.statements(),
  }));
  registerKeyRoutes(app, {
    keyring: keys,
    adminToken,
    now,
    // The registration of a new key is a message signed by the current key, with the statement in it.
    publisher: {
      rotate: (statement, proof) => hub.send('keys.rotate', { statement, proof }),
      retire: (statement) => hub.send('keys.retire', { statement }),
    },
  });
  app.get('/v1/admin/ledger', async (req) => {
    requireAdmin(req, adminToken);
    return ledgerSummary(q, ledger);
  });
  registerCustomerRoutes(app, { customers, ledger, adminToken, idempotency });
  // Statement lines name the other side: our customers by the name rule, other processors by their name.
  const statementDeps: StatementDeps = {
    q,
    ledger,
    processorId: opts.id,
    processorName: async (id) => (await hub.participant(id))?.name,
    ...(opts.payeeNames ? { payeeNames: opts.payeeNames } : {}),
  };
  registerAccountRoutes(app, {
    q,
    ledger,
    customers,
    limits,
    vouchers,
    statement: statementDeps,
    currency: opts.currencies[0] ?? 'EUR',
    adminToken,
    idempotency,
  });
  registerMerchantRoutes(app, { merchants, requests, adminToken, idempotency });
  registerRequestRoutes(app, {
    merchants,
    requests,
    idempotency,
    ticketKey: loadOrCreateSecret(secretsDir, 'events-ticket-key'),
    now,
  });
  registerPaymentRoutes(app, { customers, payments, adminToken, metrics });
  registerFxRoutes(app, { fx, adminToken });
  registerP2pRoutes(app, { customers, p2p, notifications, processorId: opts.id });
  registerRefundRoutes(app, { merchants, payments, idempotency });
  registerBillRoutes(app, { bills: services.bills, customers, merchants, adminToken });
  registerMandateRoutes(app, { customers, mandates: services.mandates });
  await registerChannelRoutes(app, {
    q,
    dataDir: opts.dataDir,
    customers,
    payments,
    p2p,
    bills: services.bills,
    limits,
    ledger,
    statement: statementDeps,
    adminToken,
    now,
    log: app.log.child({ feature: 'channels' }),
    smsGateway: services.smsGateway,
    audit,
  });
  registerAgentRoutes(app, { agents: services.agents, adminToken, idempotency });
  registerSettlementRoutes(app, { ...services, adminToken });
  await registerWebPages(app);
  const replay = await createReplayGuard(store, { now });
  registerMessageEndpoint(app, {
    signer,
    resolveKey: (id) => hub.resolveKey(id),
    replay,
    now,
    router: PROCESSOR_MESSAGES,
    senders: PROCESSOR_MESSAGE_SENDERS,
    handlers: processorMessageHandlers({
      requests,
      payments,
      p2p,
      bills: services.bills,
      settlement: services.settlement,
    }),
  });

  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `${opts.tls ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${port}`;

  // Background work, each on its own loop (never two runs of one at once).
  const loop = (name: string, everyMs: number, run: () => Promise<unknown>, runAtStart = true) =>
    startLoop({ name, everyMs, run, log: app.log.child({ feature: name }), runAtStart });
  const loops = [
    // Settles every transfer in flight with the hub's view: after a restart, a lost answer or notification.
    loop('reconcile', opts.reconcileIntervalMs ?? 1000, () => payments.reconcile()),
    loop('webhooks', 500, () => services.webhooks.deliverDue()),
    loop('mandates', 1000, () => services.mandates.tick()),
    loop('directory', 2000, () => services.directory.sync()),
    // A rotation made through another instance of this processor (they share the key file).
    loop('keys', 1000, () => keys.reload()),
    // Peers' keys rotated or retired since the registry was read (an unknown key id also reads it at once).
    loop('participants', 10_000, () => hub.refresh(), false),
    loop('agent commissions', 500, () => services.agents.settleCashOuts()),
    loop('fx quote purge', QUOTE_PURGE_INTERVAL_MS, () => fx.purge()),
    ...(opts.fx?.ratesFile ? [loop('fx rates file', opts.fx.pollMs ?? 5000, () => fx.poll(), false)] : []),
    ...(opts.kind === 'mno' ? [loop('airtime', 250, () => services.bills.sweepAirtime())] : []),
  ];

  return {
    id: opts.id,
    url,
    adminToken,
    metricsToken,
    app,
    ledger,
    async close() {
      await Promise.all(loops.map((l) => l.stop()));
      await app.close();
      await hub.close();
      await replay.close();
      await ledger.close();
      await store.close();
    },
  };
}
