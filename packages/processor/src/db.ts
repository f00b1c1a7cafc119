/**
 * The processor's own tables (the ledger keeps its own `ledger_*` tables in the same database file).
 * Customer identity lives only here: no other node ever receives it.
 */
import { sql } from 'kysely';
import { ddl, migrateStore, type AnyDb, type Store } from '@semops/node';
import { V7_BILLS } from './bills/schema.js';
import { MANDATES_SQL } from './mandates/schema.js';
import { AGENTS_MIGRATION } from './agents/sql.js';
import { FX_MIGRATION } from './fx/schema.js';

type Ddl = ReturnType<typeof ddl>;

const V1 = ({ digits }: Ddl) => `
-- Amounts are minor units as decimal text (exact, any size); balances live in the ledger.
CREATE TABLE customers (
  id TEXT PRIMARY KEY,
  phone TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  account_id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
  pin_hash TEXT,
  pin_attempts INTEGER NOT NULL DEFAULT 0,
  pin_locked INTEGER NOT NULL DEFAULT 0,
  activation_hash TEXT,
  created_at BIGINT NOT NULL
);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  public_jwk TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
  created_at BIGINT NOT NULL
);
CREATE INDEX devices_customer ON devices(customer_id);
CREATE TABLE merchants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  category TEXT NOT NULL,
  currency TEXT NOT NULL,
  account_id TEXT NOT NULL UNIQUE,
  api_key_hash TEXT NOT NULL UNIQUE,
  webhook_url TEXT,
  webhook_secret TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE requests (
  id TEXT PRIMARY KEY,
  merchant_id TEXT NOT NULL REFERENCES merchants(id),
  short_code TEXT NOT NULL UNIQUE,
  currency TEXT NOT NULL,
  amount TEXT CHECK (amount IS NULL OR (${digits('amount')})),
  min_amount TEXT CHECK (min_amount IS NULL OR (${digits('min_amount')})),
  max_amount TEXT CHECK (max_amount IS NULL OR (${digits('max_amount')})),
  reference TEXT NOT NULL,
  description TEXT,
  reusable INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'PAID', 'CANCELLED')),
  in_flight TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE TABLE short_code_seq (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
INSERT INTO short_code_seq (id, next) VALUES (1, 1);
-- Payer side: payments our customers approved.
CREATE TABLE payments (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  device_id TEXT NOT NULL,
  nonce TEXT NOT NULL UNIQUE,
  request_id TEXT NOT NULL,
  payee TEXT NOT NULL,
  merchant TEXT NOT NULL,
  reference TEXT NOT NULL,
  amount TEXT NOT NULL CHECK (${digits('amount')}),
  currency TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('NEW', 'RESERVED', 'COMMITTED', 'ABORTED', 'FAILED')),
  reason TEXT,
  receipt TEXT,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX payments_customer ON payments(customer_id, created_at);
CREATE INDEX payments_open ON payments(state) WHERE state IN ('NEW', 'RESERVED');
-- Payee side: transfers our merchants accepted.
CREATE TABLE incoming (
  id TEXT PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests(id),
  merchant_id TEXT NOT NULL REFERENCES merchants(id),
  payer TEXT NOT NULL,
  amount TEXT NOT NULL CHECK (${digits('amount')}),
  currency TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('ACCEPTED', 'COMMITTED', 'ABORTED')),
  receipt TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX incoming_request ON incoming(request_id);
CREATE INDEX incoming_open ON incoming(state) WHERE state = 'ACCEPTED';
-- Requests a customer resolved, so that an approval can be checked against what was shown.
CREATE TABLE resolutions (
  customer_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  token TEXT NOT NULL,
  resolved_at BIGINT NOT NULL,
  PRIMARY KEY (customer_id, request_id)
);
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  merchant_id TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
  last_error TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX webhook_due ON webhook_deliveries(next_at) WHERE status = 'PENDING';
CREATE TABLE directory_aliases (
  alias TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  synced INTEGER NOT NULL DEFAULT 0
);
`;

/** SMS and USSD channels (`src/channels`). No PIN is ever stored here: see channels/sms/store.ts. */
const V2_CHANNELS = ({ digits, serial }: Ddl) => `
-- Texts kept by the default SMS gateway adapter, both ways. An inbound PIN is stored as '****'.
CREATE TABLE sms_messages (
  id ${serial},
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  phone TEXT NOT NULL,
  service TEXT NOT NULL,
  text TEXT NOT NULL,
  gateway_id TEXT UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE INDEX sms_messages_phone ON sms_messages(phone, id);
-- A PAY by SMS waiting for its PIN in a separate message: one per phone, lives two minutes.
CREATE TABLE sms_confirmations (
  phone TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  request_id TEXT NOT NULL,
  payee TEXT NOT NULL,
  amount TEXT NOT NULL CHECK (${digits('amount')}),
  currency TEXT NOT NULL,
  merchant TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
-- USSD sessions that reached their final action (payment, PIN change), so that a gateway retry of the
-- same session gets the first answer instead of acting twice.
CREATE TABLE ussd_sessions (
  session_id TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  reply TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX ussd_sessions_created ON ussd_sessions(created_at);
`;

/**
 * P2P and refunds: a request or an incoming transfer may pay a customer (P2P) instead of a merchant, an
 * incoming transfer may be a refund of one of our payments, and a payment row may be a merchant's refund
 * (payer side). SQLite cannot drop NOT NULL, so there the three tables are rebuilt; a new table takes the
 * foreign keys over by the rename (SQLite 3.26+ rewrites references to a renamed table).
 */
const V3_P2P_REFUNDS = ({ digits }: Ddl, engine: 'sqlite' | 'postgres') => `
ALTER TABLE customers ADD COLUMN alias TEXT;
CREATE UNIQUE INDEX customers_alias ON customers(alias);
${
  engine === 'postgres'
    ? `
ALTER TABLE requests ALTER COLUMN merchant_id DROP NOT NULL;
ALTER TABLE requests ADD COLUMN customer_id TEXT REFERENCES customers(id);
ALTER TABLE incoming ALTER COLUMN merchant_id DROP NOT NULL;
ALTER TABLE incoming ALTER COLUMN request_id DROP NOT NULL;
ALTER TABLE incoming ADD COLUMN customer_id TEXT REFERENCES customers(id);
ALTER TABLE incoming ADD COLUMN refund_of TEXT;
ALTER TABLE payments ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE payments ADD COLUMN merchant_id TEXT REFERENCES merchants(id);
ALTER TABLE payments ADD COLUMN refund_of TEXT;
`
    : `
CREATE TABLE requests_new (
  id TEXT PRIMARY KEY,
  merchant_id TEXT REFERENCES merchants(id),
  short_code TEXT NOT NULL UNIQUE,
  currency TEXT NOT NULL,
  amount TEXT CHECK (amount IS NULL OR (${digits('amount')})),
  min_amount TEXT CHECK (min_amount IS NULL OR (${digits('min_amount')})),
  max_amount TEXT CHECK (max_amount IS NULL OR (${digits('max_amount')})),
  reference TEXT NOT NULL,
  description TEXT,
  reusable INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'PAID', 'CANCELLED')),
  in_flight TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  customer_id TEXT REFERENCES customers(id)
);
INSERT INTO requests_new SELECT *, NULL FROM requests;
CREATE TABLE incoming_new (
  id TEXT PRIMARY KEY,
  request_id TEXT REFERENCES requests_new(id),
  merchant_id TEXT REFERENCES merchants(id),
  payer TEXT NOT NULL,
  amount TEXT NOT NULL CHECK (${digits('amount')}),
  currency TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('ACCEPTED', 'COMMITTED', 'ABORTED')),
  receipt TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  customer_id TEXT REFERENCES customers(id),
  refund_of TEXT
);
INSERT INTO incoming_new SELECT *, NULL, NULL FROM incoming;
DROP TABLE incoming;
DROP TABLE requests;
ALTER TABLE requests_new RENAME TO requests;
ALTER TABLE incoming_new RENAME TO incoming;
CREATE INDEX incoming_request ON incoming(request_id);
CREATE INDEX incoming_open ON incoming(state) WHERE state = 'ACCEPTED';
CREATE TABLE payments_new (
  id TEXT PRIMARY KEY,
  customer_id TEXT REFERENCES customers(id),
  device_id TEXT NOT NULL,
  nonce TEXT NOT NULL UNIQUE,
  request_id TEXT NOT NULL,
  payee TEXT NOT NULL,
  merchant TEXT NOT NULL,
  reference TEXT NOT NULL,
  amount TEXT NOT NULL CHECK (${digits('amount')}),
  currency TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('NEW', 'RESERVED', 'COMMITTED', 'ABORTED', 'FAILED')),
  reason TEXT,
  receipt TEXT,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  merchant_id TEXT REFERENCES merchants(id),
  refund_of TEXT
);
INSERT INTO payments_new SELECT *, NULL, NULL FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE INDEX payments_customer ON payments(customer_id, created_at);
CREATE INDEX payments_open ON payments(state) WHERE state IN ('NEW', 'RESERVED');
`
}
-- A request pays a merchant or a customer (P2P), never both.
CREATE INDEX requests_customer ON requests(customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX incoming_refund_of ON incoming(refund_of) WHERE refund_of IS NOT NULL;
CREATE INDEX payments_refund_of ON payments(refund_of) WHERE refund_of IS NOT NULL;
-- What a customer is told: money received or sent, a request to pay, a refund.
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  kind TEXT NOT NULL CHECK (kind IN ('payment.received', 'payment.sent', 'request.received', 'refund.received')),
  text TEXT NOT NULL,
  amount TEXT,
  currency TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX notifications_customer ON notifications(customer_id, created_at);
-- Requests for money other people sent to our customers (request money), as their processor signed them.
CREATE TABLE inbox (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  request_id TEXT NOT NULL,
  processor_id TEXT NOT NULL,
  from_name TEXT NOT NULL,
  amount TEXT NOT NULL CHECK (${digits('amount')}),
  currency TEXT NOT NULL,
  note TEXT,
  token TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'DECLINED')),
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (customer_id, processor_id, request_id)
);
CREATE INDEX inbox_customer ON inbox(customer_id, created_at);
`;

const V4_ACCOUNTS = ({ digits }: Ddl) => `
-- Prepaid e-money and KYC tiers: bank customers have no tier limits; e-money customers the tier's.
ALTER TABLE customers ADD COLUMN kind TEXT NOT NULL DEFAULT 'bank' CHECK (kind IN ('bank', 'emoney'));
ALTER TABLE customers ADD COLUMN tier INTEGER NOT NULL DEFAULT 1 CHECK (tier BETWEEN 0 AND 3);
-- Limits the customer set for themselves (minor units), never above the tier's; NULL = the tier's.
ALTER TABLE customers ADD COLUMN own_per_transaction TEXT;
ALTER TABLE customers ADD COLUMN own_daily TEXT;
-- Top-up vouchers: only the SHA-256 of a code is kept; a code is used once.
CREATE TABLE vouchers (
  code_hash TEXT PRIMARY KEY,
  batch_id TEXT NOT NULL,
  amount TEXT NOT NULL CHECK (${digits('amount')}),
  currency TEXT NOT NULL,
  used_by TEXT REFERENCES customers(id),
  used_at BIGINT,
  created_at BIGINT NOT NULL
);
`;

/** Use cases: parking tariffs and tickets on requests, shop return URLs, and tickets already used. */
const V5_USE_CASES = `
ALTER TABLE requests ADD COLUMN kind TEXT;
ALTER TABLE requests ADD COLUMN zone TEXT;
ALTER TABLE requests ADD COLUMN event TEXT;
ALTER TABLE requests ADD COLUMN tariff_per_minute TEXT;
ALTER TABLE requests ADD COLUMN tariff_min_minutes INTEGER;
ALTER TABLE requests ADD COLUMN tariff_max_minutes INTEGER;
ALTER TABLE requests ADD COLUMN return_url TEXT;
CREATE TABLE used_tickets (
  ticket_id TEXT PRIMARY KEY,
  merchant_id TEXT NOT NULL,
  payment_id TEXT NOT NULL,
  used_at BIGINT NOT NULL
);
`;

/**
 * Cross-border settlement (issue 5), payee side and settlement: the hub's fees of each incoming purchase
 * (merchant service charge and the interchange paid out of it), when an incoming transfer committed here, how
 * a refund of a converted payment was booked back in the customer's currency (fixed once, so that a re-run
 * commit books exactly the same), and the settlement windows the hub told this processor to book.
 */
const V10_SETTLEMENT = `
ALTER TABLE incoming ADD COLUMN msc TEXT NOT NULL DEFAULT '0';
ALTER TABLE incoming ADD COLUMN interchange TEXT NOT NULL DEFAULT '0';
ALTER TABLE incoming ADD COLUMN committed_at BIGINT;
ALTER TABLE incoming ADD COLUMN refund_fx TEXT;
CREATE INDEX incoming_committed ON incoming(committed_at) WHERE committed_at IS NOT NULL;
CREATE TABLE settlements (
  window_id TEXT PRIMARY KEY,
  opened_at BIGINT NOT NULL,
  closed_at BIGINT NOT NULL,
  positions TEXT NOT NULL,
  booked_at BIGINT NOT NULL
);
`;

/**
 * Quotes shown on a feature phone are bound to what the PIN approves: the SMS confirmation and the USSD session
 * keep the id of the exact quote shown, and the PIN pays at that quote only. Unused quotes are purged a day
 * after they expired (`fx_quotes_unused`).
 */
const V11_QUOTE_BINDINGS = `
ALTER TABLE sms_confirmations ADD COLUMN quote_id TEXT;
-- The quote on the PIN screen a USSD session showed last (one per session; kept as long as ussd_sessions).
CREATE TABLE ussd_quotes (
  session_id TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  quote_id TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX ussd_quotes_created ON ussd_quotes(created_at);
CREATE INDEX fx_quotes_unused ON fx_quotes(expires_at) WHERE payment_id IS NULL;
`;

/**
 * Device-signed account actions (new activation code, PIN change, limits, alias) are accepted once per nonce;
 * a nonce is kept until its action expired.
 */
const V12_DEVICE_ACTIONS = `
CREATE TABLE device_actions (
  nonce TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  action TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX device_actions_expiry ON device_actions(expires_at);
`;

/**
 * A merchant's till keys (`rk_…`, stored as a digest): a POS or a gate scanner holds one instead of the secret
 * key; it creates payment requests and reads them, and nothing that moves the merchant's money.
 */
const V14_TILL_KEYS = `
CREATE TABLE till_keys (
  id TEXT PRIMARY KEY,
  merchant_id TEXT NOT NULL REFERENCES merchants(id),
  key_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX till_keys_merchant ON till_keys(merchant_id);
`;

/** Runs a script of `;`-terminated statements one by one (SQLite prepares one statement at a time). */
async function script(db: AnyDb, text: string): Promise<void> {
  const statements = text
    .split(/;\s*\n/)
    .map((st) => st.replace(/^\s*--.*$/gm, '').trim())
    .filter((st) => st.length > 0);
  for (const st of statements) await sql.raw(st).execute(db);
}

/** Creates or upgrades the processor's tables on SQLite or PostgreSQL. */
export async function migrateProcessor(store: Store): Promise<void> {
  const d = ddl(store.engine);
  await migrateStore(store, 'processor', {
    '0001_core': { up: (db) => script(db, V1(d)) },
    '0002_channels': { up: (db) => script(db, V2_CHANNELS(d)) },
    '0003_p2p_refunds': { up: (db) => script(db, V3_P2P_REFUNDS(d, store.engine)) },
    '0004_accounts': { up: (db) => script(db, V4_ACCOUNTS(d)) },
    '0005_use_cases': { up: (db) => script(db, V5_USE_CASES) },
    '0006_agents': { up: (db) => script(db, AGENTS_MIGRATION) },
    '0007_bills': { up: (db) => script(db, V7_BILLS) },
    '0008_mandates': { up: (db) => script(db, MANDATES_SQL) },
    '0009_fx': { up: (db) => script(db, FX_MIGRATION) },
    '0010_settlement': { up: (db) => script(db, V10_SETTLEMENT) },
    '0011_quote_bindings': { up: (db) => script(db, V11_QUOTE_BINDINGS) },
    '0012_device_actions': { up: (db) => script(db, V12_DEVICE_ACTIONS) },
    // Insertion order of payments (read by the limit checks until they moved into the payment's transaction).
    '0013_payment_order': {
      up: (db) =>
        store.engine === 'postgres'
          ? script(db, 'ALTER TABLE payments ADD COLUMN seq BIGSERIAL')
          : Promise.resolve(),
    },
    '0014_till_keys': { up: (db) => script(db, V14_TILL_KEYS) },
  });
}
