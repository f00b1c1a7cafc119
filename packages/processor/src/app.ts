/**
 * Composition root of a payment processor node (a bank or a mobile operator): opens its database and ledger,
 * loads its keys and secrets, links to the hub, wires the services and routes, and starts its workers.
 */
import { createHouseAccounts } from './house-accounts.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Ledger } from '@semops/ledger';
import {
  createIdempotencyStore,
  createReplayGuard,
  createServer,
  loadOrCreateKeys,
  loadOrCreateSecret,
  createLedgerFor,
  createSql,
  openStore,
  registerMessageEndpoint,
  registerRateLimits,
  auditRoutes,
  createAuditLog,
  requireAdmin,
} from '@semops/node';
import { PROCESSOR_MESSAGES, importEncryptionKey, importSigningKey } from '@semops/protocol';
import { PROCESSOR_MESSAGE_SENDERS, processorMessageHandlers } from './messages.js';
import { migrateProcessor } from './db.js';
import { createHubLink } from './hub/link.js';
import { createPinHasher } from './customers/pins.js';
import { createCustomerService } from './customers/service.js';
import { registerCustomerRoutes } from './customers/routes.js';
import { createMerchantService } from './merchants/service.js';
import { registerMerchantRoutes } from './merchants/routes.js';
import { createRequestService } from './requests/service.js';
import { registerRequestRoutes } from './requests/routes.js';
import { createPaymentService } from './payments/service.js';
import { registerPaymentRoutes } from './payments/routes.js';
import { createWebhookService } from './webhooks/service.js';
import { createDirectorySync } from './hub/directory.js';
import { ledgerSummary } from './ledger-summary.js';
import { registerChannelRoutes } from './channels/routes.js';
import { createSmsStore, createStoredSmsGateway } from './channels/sms/store.js';
import { registerWebPages } from './web.js';
import { createNotificationService } from './notifications/service.js';
import { createP2pService } from './p2p/service.js';
import { registerP2pRoutes } from './p2p/routes.js';
import { registerRefundRoutes } from './refunds/routes.js';
import { createLimitService } from './limits/service.js';
import { createVoucherService } from './vouchers/service.js';
import { registerAccountRoutes } from './customers/account-routes.js';
import { setupMandates } from './mandates/index.js';
import { registerAgentRoutes } from './agents/routes.js';
import { registerBills } from './bills/routes.js';
import { createFxService, type FxOptions } from './fx/service.js';
import { registerFxRoutes } from './fx/routes.js';
import { setupSettlement } from './settlement/routes.js';

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
  readonly logger?: boolean;
  readonly now?: () => number;
}

export interface ProcessorNode {
  readonly id: string;
  readonly url: string;
  readonly adminToken: string;
  readonly app: FastifyInstance;
  readonly ledger: Ledger;
  close(): Promise<void>;
}

export async function createProcessor(opts: ProcessorOptions): Promise<ProcessorNode> {
  const now = opts.now ?? Date.now;
  mkdirSync(join(opts.dataDir, 'logs'), { recursive: true });
  const secretsDir = join(opts.dataDir, 'secrets');
  const keys = await loadOrCreateKeys(join(opts.dataDir, 'keys'));
  const adminToken = loadOrCreateSecret(
    secretsDir,
    'admin-token',
    opts.adminToken ?? process.env.SEMOPS_ADMIN_TOKEN,
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
  const q = createSql(store);
  const ledger = await createLedgerFor(store);
  const app = createServer({
    logger: opts.logger ? { level: 'info', file: join(opts.dataDir, 'logs', `${opts.id}.log`) } : false,
  });
  await registerRateLimits(app);
  const audit = await createAuditLog(store, { now });
  auditRoutes(app, audit, adminToken);
  const log = (msg: string, extra?: Record<string, unknown>) => app.log.info(extra ?? {}, msg);

  const signer = { id: opts.id, key: keys.signingKey };
  const hub = await createHubLink({
    hubUrl: opts.hubUrl,
    signer,
    dataDir: opts.dataDir,
    self: {
      id: opts.id,
      signing: keys.signingPublicKey,
      encryption: await importEncryptionKey(keys.encryptionPublicJwk),
    },
  });

  const house = createHouseAccounts(ledger);
  const settlementAccount = house.settlement;
  const fundingAccount = house.funding;

  const idempotency = await createIdempotencyStore(store);
  const notifications = createNotificationService({ q, now });
  const limits = createLimitService({ q, now });
  // Texts to customers (device added, replies): the default gateway keeps them in the node's database.
  const smsGateway = createStoredSmsGateway(createSmsStore(q, now), 'SEMOPS');
  const customers = createCustomerService({
    q,
    ledger,
    pins: createPinHasher(pinKey),
    encryptionKey: keys.encryptionPrivateKey,
    directoryKey,
    fundingAccount,
    now,
    limits,
    notifications,
    sms: smsGateway,
  });
  const vouchers = createVoucherService({ q, ledger, customers, limits, notifications, fundingAccount, now });
  const merchants = createMerchantService({ q, ledger, now });
  const webhooks = createWebhookService({
    q,
    now,
    secretOf: async (id) => (await merchants.get(id)).webhookSecret,
    log,
  });
  const requests = createRequestService({
    q,
    ledger,
    merchants,
    customers,
    notifications,
    webhooks,
    processorId: opts.id,
    routingPrefix: opts.routingPrefix,
    country: opts.country,
    signingKey: keys.signingKey,
    encryptionKeyOf: (id) => hub.encryptionKey(id),
    house,
    now,
    verifyingKey: await importSigningKey(keys.signingPublicJwk),
  });
  const fx = createFxService({
    q,
    now,
    log,
    ...(opts.fx ? { options: opts.fx } : {}),
    furtherInstance: opts.instance ?? false,
  });
  await fx.init();
  const payments = createPaymentService({
    q,
    ledger,
    customers,
    requests,
    hub,
    processorId: opts.id,
    routingPrefix: opts.routingPrefix,
    encryptionKey: keys.encryptionPrivateKey,
    settlementAccount,
    house,
    fx,
    transferTtlMs: opts.transferTtlMs ?? Number(process.env.SEMOPS_TRANSFER_TTL_MS ?? 30_000),
    notifications,
    limits,
    now,
    log,
  });
  const directory = createDirectorySync({ q, hub, log });
  const p2p = createP2pService({
    q,
    customers,
    requests,
    payments,
    notifications,
    hub,
    processorId: opts.id,
    encryptionKeyOf: (id) => hub.encryptionKey(id),
    now,
    log,
  });

  app.get('/v1/info', async () => ({
    id: opts.id,
    name: opts.name,
    kind: opts.kind,
    currencies: opts.currencies,
    routingPrefix: opts.routingPrefix,
    country: opts.country,
    signingKey: keys.signingPublicJwk,
    encryptionKey: keys.encryptionPublicJwk,
  }));
  app.get('/v1/admin/ledger', async (req) => {
    requireAdmin(req, adminToken);
    return ledgerSummary(q, ledger);
  });
  registerCustomerRoutes(app, { customers, ledger, adminToken, idempotency });
  registerAccountRoutes(app, {
    q,
    ledger,
    customers,
    limits,
    vouchers,
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
  registerPaymentRoutes(app, { customers, payments, adminToken });
  registerFxRoutes(app, { fx, adminToken });
  registerP2pRoutes(app, { customers, p2p, notifications, processorId: opts.id });
  registerRefundRoutes(app, { merchants, payments, idempotency });
  const bills = await registerBills(app, {
    ...{ q, merchants, requests, customers, payments, notifications, hub, now, log, adminToken },
    ...{ processorId: opts.id, routingPrefix: opts.routingPrefix, kind: opts.kind },
    ...{ currency: opts.currencies[0] ?? 'EUR', encryptionKeyOf: (id: string) => hub.encryptionKey(id) },
  });
  const mandates = setupMandates(app, { q, customers, payments, now, log });
  await registerChannelRoutes(app, {
    q,
    dataDir: opts.dataDir,
    customers,
    payments,
    ledger,
    adminToken,
    now,
    log,
    smsGateway,
    audit,
  });
  registerAgentRoutes(app, {
    q,
    ledger,
    merchants,
    requests,
    customers,
    limits,
    notifications,
    pins: createPinHasher(pinKey),
    hub,
    fundingAccount,
    now,
    log,
    adminToken,
    idempotency,
  });
  const settlement = setupSettlement(app, { q, ledger, house, processorId: opts.id, now, log, adminToken });
  await registerWebPages(app);
  const replay = await createReplayGuard(store);
  registerMessageEndpoint(app, {
    signer,
    resolveKey: (id) => hub.resolveKey(id),
    replay,
    router: PROCESSOR_MESSAGES,
    senders: PROCESSOR_MESSAGE_SENDERS,
    handlers: processorMessageHandlers({
      requests,
      payments,
      p2p,
      bills: bills.bills,
      settlement: settlement.settlement,
    }),
  });

  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;

  webhooks.start();
  fx.start();
  mandates.start();
  directory.start();
  let reconciling = false;
  const reconcile = async () => {
    if (reconciling) return;
    reconciling = true;
    try {
      await payments.reconcile();
    } catch (e) {
      log('reconcile failed; will retry', { err: String(e) });
    } finally {
      reconciling = false;
    }
  };
  const reconcileTimer = setInterval(() => void reconcile(), opts.reconcileIntervalMs ?? 1000);
  reconcileTimer.unref();
  void reconcile();

  return {
    id: opts.id,
    url,
    adminToken,
    app,
    ledger,
    async close() {
      clearInterval(reconcileTimer);
      fx.stop();
      await mandates.stop();
      webhooks.stop();
      directory.stop();
      await app.close();
      await hub.close();
      await replay.close();
      await ledger.close();
      await store.close();
    },
  };
}
