/**
 * Every service of a payment processor, built once from its database, ledger, keys and hub link: what `app.ts`
 * serves over HTTP and the node messages, and what the testing kits drive in process. Nothing here listens or
 * starts a timer; `app.ts` starts the background loops (`startLoop`).
 */
import type { Ledger } from '@semops/ledger';
import type { RootLog, Sql } from '@semops/node';
import type { Key, Signer } from '@semops/protocol';
import { createAgentService } from './agents/service.js';
import { createBillService } from './bills/service.js';
import { createPinHasher } from './customers/pins.js';
import { createCustomerService, type PayeeNameRule } from './customers/service.js';
import { createFxService, type FxOptions } from './fx/service.js';
import { createHouseAccounts } from './house-accounts.js';
import { createDirectorySync } from './hub/directory.js';
import type { HubLink } from './hub/link.js';
import { createLimitService } from './limits/service.js';
import type { ProcessorMetrics } from './metrics.js';
import { withPayeeMetrics } from './payee-metrics.js';
import { createMandateService } from './mandates/service.js';
import { createMerchantService } from './merchants/service.js';
import { createNotificationService } from './notifications/service.js';
import { createP2pService } from './p2p/service.js';
import { createPaymentService } from './payments/service.js';
import { createRequestService } from './requests/service.js';
import { createReconciler } from './settlement/reconcile.js';
import { createSettlementService } from './settlement/service.js';
import type { SmsGateway } from './channels/gateway.js';
import { createSmsStore, createStoredSmsGateway } from './channels/sms/store.js';
import { createVoucherService } from './vouchers/service.js';
import { createWebhookService } from './webhooks/service.js';

export interface ProcessorServiceDeps {
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly hub: HubLink;
  readonly id: string;
  readonly kind: 'bank' | 'mno';
  readonly currencies: readonly string[];
  readonly routingPrefix: string;
  readonly country: string;
  readonly keys: {
    /** Signs request tokens and receipts with the current key (`kid` names it). */
    readonly signer: Signer;
    /** This processor's public key by key id, earlier keys included (its own tickets). */
    readonly ownKey?: (kid: string) => Key | undefined;
    readonly encryptionPrivateKey: Key;
  };
  /** Keys the PINs' hashes and blinds phone numbers for the hub's directory. */
  readonly secrets: { readonly pinKey: string; readonly directoryKey: string };
  readonly transferTtlMs: number;
  readonly fx?: FxOptions;
  /** A further instance of this processor on the same database (FX start options are not applied). */
  readonly furtherInstance?: boolean;
  /** Texts to customers; by default kept in the node's database. */
  readonly smsGateway?: SmsGateway;
  /** How much of a customer's name people paying them see (default `first-name`: `Ben O.`). */
  readonly payeeNames?: PayeeNameRule;
  readonly now: () => number;
  /** The node's logger; each feature logs through a child of it (`feature`). */
  readonly log: RootLog;
  /** What the node counts for Prometheus (absent: nothing is counted). */
  readonly metrics?: ProcessorMetrics;
}

export async function createProcessorServices(deps: ProcessorServiceDeps) {
  const { q, ledger, hub, now, metrics } = deps;
  const log = (feature: string) => deps.log.child({ feature });
  const processorId = deps.id;
  const currency = deps.currencies[0] ?? 'EUR';
  const encryptionKeyOf = (id: string) => hub.encryptionKey(id);
  const house = createHouseAccounts(ledger);
  const pins = createPinHasher(deps.secrets.pinKey);

  const notifications = createNotificationService({ q, now });
  const limits = createLimitService({ q, now });
  const smsGateway = deps.smsGateway ?? createStoredSmsGateway(createSmsStore(q, now), 'SEMOPS');
  const customers = createCustomerService({
    q,
    ledger,
    pins,
    encryptionKey: deps.keys.encryptionPrivateKey,
    directoryKey: deps.secrets.directoryKey,
    fundingAccount: house.funding,
    now,
    limits,
    notifications,
    sms: smsGateway,
    metrics,
  });
  const vouchers = createVoucherService({
    q,
    ledger,
    customers,
    limits,
    notifications,
    fundingAccount: house.funding,
    now,
  });
  const merchants = createMerchantService({ q, ledger, now });
  const webhooks = createWebhookService({
    q,
    now,
    secretOf: async (id) => (await merchants.get(id)).webhookSecret,
    log: log('webhooks'),
    metrics,
  });
  const requestService = createRequestService({
    q,
    ledger,
    merchants,
    customers,
    notifications,
    webhooks,
    processorId,
    routingPrefix: deps.routingPrefix,
    country: deps.country,
    signer: deps.keys.signer,
    encryptionKeyOf,
    house,
    now,
    ...(deps.keys.ownKey ? { ownKey: deps.keys.ownKey } : {}),
    ...(deps.payeeNames ? { payeeNames: deps.payeeNames } : {}),
  });
  // Timed and counted on the payee side (payee-metrics.ts).
  const requests = withPayeeMetrics(requestService, { metrics, log: log('payee') });
  const fx = createFxService({
    q,
    now,
    log: log('fx'),
    ...(deps.fx ? { options: deps.fx } : {}),
    furtherInstance: deps.furtherInstance ?? false,
  });
  await fx.init();
  const payments = createPaymentService({
    q,
    ledger,
    customers,
    requests,
    hub,
    processorId,
    routingPrefix: deps.routingPrefix,
    encryptionKey: deps.keys.encryptionPrivateKey,
    settlementAccount: house.settlement,
    house,
    fx,
    transferTtlMs: deps.transferTtlMs,
    notifications,
    limits,
    now,
    log: log('payments'),
    metrics,
  });
  const p2p = createP2pService({
    q,
    customers,
    requests,
    payments,
    notifications,
    hub,
    processorId,
    encryptionKeyOf,
    now,
    log: log('p2p'),
  });
  const bills = createBillService({
    q,
    merchants,
    requests,
    customers,
    payments,
    notifications,
    hub,
    processorId,
    routingPrefix: deps.routingPrefix,
    kind: deps.kind,
    currency,
    encryptionKeyOf,
    now,
    log: log('bills'),
  });
  if (deps.kind === 'mno') await bills.airtimeBiller();
  const agents = createAgentService({
    q,
    ledger,
    merchants,
    requests,
    customers,
    limits,
    notifications,
    pins,
    hub,
    fundingAccount: house.funding,
    now,
    log: log('agents'),
  });
  const mandates = createMandateService({ q, customers, payments, now, log: log('mandates') });
  const settlement = createSettlementService({
    q,
    ledger,
    house,
    processorId,
    now,
    log: log('settlement'),
  });
  const reconciler = createReconciler({ q, ledger, processorId, settlement });
  const directory = createDirectorySync({ q, hub });

  return {
    house,
    notifications,
    limits,
    smsGateway,
    customers,
    vouchers,
    merchants,
    webhooks,
    requests,
    fx,
    payments,
    p2p,
    bills,
    agents,
    mandates,
    settlement,
    reconciler,
    directory,
  };
}

export type ProcessorServices = Awaited<ReturnType<typeof createProcessorServices>>;
