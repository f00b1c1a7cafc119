/**
 * The processor's tables as of the first release, in one migration (the pre-release chain of fourteen was
 * squashed into it). Amounts are minor units as decimal text (exact, any size); balances live in the ledger,
 * which keeps its own `ledger_*` tables in the same database. Customer identity lives only here: no other
 * node ever receives it. The same text runs on SQLite and PostgreSQL (`ddl` fills in what differs).
 */
import type { ddl } from '@semops/node';

export const baseline = ({ digits, serial }: ReturnType<typeof ddl>) => `
-- Customers, their devices and what they set for themselves.
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
  created_at BIGINT NOT NULL,
  alias TEXT,
  -- Prepaid e-money and KYC tiers: bank customers have no tier limits; e-money customers the tier's.
  kind TEXT NOT NULL DEFAULT 'bank' CHECK (kind IN ('bank', 'emoney')),
  tier INTEGER NOT NULL DEFAULT 1 CHECK (tier BETWEEN 0 AND 3),
  -- Limits the customer set for themselves (minor units), never above the tier's; NULL = the tier's.
  own_per_transaction TEXT,
  own_daily TEXT
);
CREATE UNIQUE INDEX customers_alias ON customers(alias);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  public_jwk TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
  created_at BIGINT NOT NULL
);
CREATE INDEX devices_customer ON devices(customer_id);
-- Device-signed account actions (new activation code, PIN change, limits, alias) are accepted once per
-- nonce; a nonce is kept until its action expired.
CREATE TABLE device_actions (
  nonce TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  action TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX device_actions_expiry ON device_actions(expires_at);
-- Aliases of our customers, and whether the hub's directory has them yet.
CREATE TABLE directory_aliases (
  alias TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  synced INTEGER NOT NULL DEFAULT 0
);
-- What a customer is told: money received or sent, a request to pay, a refund.
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  kind TEXT NOT NULL
    CHECK (kind IN ('payment.received', 'payment.sent', 'request.received', 'refund.received')),
  text TEXT NOT NULL,
  amount TEXT,
  currency TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX notifications_customer ON notifications(customer_id, created_at);
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

-- Merchants (and agents, kind 'agent'), their till keys and their webhooks.
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
  created_at BIGINT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'merchant'
);
-- A till key (rk_…, kept as a digest) creates payment requests and reads them; nothing that moves money.
CREATE TABLE till_keys (
  id TEXT PRIMARY KEY,
  merchant_id TEXT NOT NULL REFERENCES merchants(id),
  key_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX till_keys_merchant ON till_keys(merchant_id);
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

-- Payment requests: a merchant's, or a customer's (P2P: request money), never both. Parking tariffs,
-- tickets and a shop's return URL ride on them.
CREATE TABLE requests (
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
  customer_id TEXT REFERENCES customers(id),
  kind TEXT,
  zone TEXT,
  event TEXT,
  tariff_per_minute TEXT,
  tariff_min_minutes INTEGER,
  tariff_max_minutes INTEGER,
  return_url TEXT
);
CREATE INDEX requests_customer ON requests(customer_id) WHERE customer_id IS NOT NULL;
CREATE TABLE short_code_seq (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
INSERT INTO short_code_seq (id, next) VALUES (1, 1);
-- Tickets a gate or controller has let through, once each.
CREATE TABLE used_tickets (
  ticket_id TEXT PRIMARY KEY,
  merchant_id TEXT NOT NULL,
  payment_id TEXT NOT NULL,
  used_at BIGINT NOT NULL
);
-- Requests a customer resolved, so that an approval can be checked against what was shown.
CREATE TABLE resolutions (
  customer_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  token TEXT NOT NULL,
  resolved_at BIGINT NOT NULL,
  PRIMARY KEY (customer_id, request_id)
);
-- Requests for money other people sent to our customers, as their processor signed them.
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

-- Payer side: payments our customers approved, and our merchants' refunds (customer_id NULL).
CREATE TABLE payments (
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
  refund_of TEXT,
  -- A conversion: the quote it applied (JSON), and the total debited in the customer's currency.
  fx TEXT,
  charged TEXT,
  -- The hub's fees (JSON {msc, interchange}), once the payment committed.
  fees TEXT
);
CREATE INDEX payments_customer ON payments(customer_id, created_at);
CREATE INDEX payments_open ON payments(state) WHERE state IN ('NEW', 'RESERVED');
CREATE INDEX payments_refund_of ON payments(refund_of) WHERE refund_of IS NOT NULL;
-- Payee side: transfers our merchants (or customers, P2P) accepted; a refund of one of our payments.
CREATE TABLE incoming (
  id TEXT PRIMARY KEY,
  request_id TEXT REFERENCES requests(id),
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
  refund_of TEXT,
  -- The hub's fees of a purchase: the merchant service charge and the interchange paid out of it.
  msc TEXT NOT NULL DEFAULT '0',
  interchange TEXT NOT NULL DEFAULT '0',
  committed_at BIGINT,
  -- How a refund of a converted payment was booked back in the customer's currency (fixed once).
  refund_fx TEXT
);
CREATE INDEX incoming_committed ON incoming(committed_at) WHERE committed_at IS NOT NULL;
CREATE INDEX incoming_open ON incoming(state) WHERE state = 'ACCEPTED';
CREATE INDEX incoming_refund_of ON incoming(refund_of) WHERE refund_of IS NOT NULL;
CREATE INDEX incoming_request ON incoming(request_id);
-- The settlement windows the hub told this processor to book.
CREATE TABLE settlements (
  window_id TEXT PRIMARY KEY,
  opened_at BIGINT NOT NULL,
  closed_at BIGINT NOT NULL,
  positions TEXT NOT NULL,
  booked_at BIGINT NOT NULL
);

-- Mid (reference) rates: 1 major unit of base = rate major units of quote, as the exact decimal given. A
-- pair is held once, in one direction; quotes invert it exactly when needed.
CREATE TABLE fx_rates (
  base TEXT NOT NULL,
  quote TEXT NOT NULL,
  rate TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('file', 'config', 'admin')),
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (base, quote)
);
-- One row: the spread over the mid rate (bps), the fixed fee per customer currency (JSON {CUR: minor units}),
-- how long a quote holds, and the rates file last loaded (path, mtime, when, and the last error if any).
CREATE TABLE fx_config (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  spread_bps INTEGER NOT NULL CHECK (spread_bps >= 0 AND spread_bps < 10000),
  fee_fixed TEXT NOT NULL,
  quote_ttl_ms BIGINT NOT NULL CHECK (quote_ttl_ms > 0),
  rates_file TEXT,
  rates_mtime BIGINT,
  loaded_at BIGINT,
  file_error TEXT,
  updated_at BIGINT NOT NULL
);
INSERT INTO fx_config (id, spread_bps, fee_fixed, quote_ttl_ms, updated_at) VALUES (1, 0, '{}', 30000, 0);
-- Quotes shown to a customer before the PIN, for one request and amount; used by at most one payment. Rates
-- are exact fractions (num/den, 1 target = num/den payer). Unused quotes are purged a day after they expired.
CREATE TABLE fx_quotes (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  request_id TEXT NOT NULL,
  payee TEXT NOT NULL,
  amount TEXT NOT NULL,
  currency TEXT NOT NULL,
  payer_currency TEXT NOT NULL,
  payer_amount TEXT NOT NULL,
  fee TEXT NOT NULL,
  total TEXT NOT NULL,
  position_credit TEXT NOT NULL,
  margin_credit TEXT NOT NULL,
  rate_num TEXT NOT NULL,
  rate_den TEXT NOT NULL,
  mid_num TEXT NOT NULL,
  mid_den TEXT NOT NULL,
  rate_shown TEXT NOT NULL,
  quoted_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  payment_id TEXT UNIQUE
);
CREATE INDEX fx_quotes_latest ON fx_quotes(customer_id, request_id, quoted_at);
CREATE INDEX fx_quotes_unused ON fx_quotes(expires_at) WHERE payment_id IS NULL;

-- SMS and USSD. No PIN is ever stored here: an inbound PIN is kept as '****' (channels/sms/store.ts).
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
-- A PAY by SMS waiting for its PIN in a separate message: one per phone, lives two minutes; a conversion
-- keeps the id of the exact quote shown, and the PIN pays at that quote only.
CREATE TABLE sms_confirmations (
  phone TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  request_id TEXT NOT NULL,
  payee TEXT NOT NULL,
  amount TEXT NOT NULL CHECK (${digits('amount')}),
  currency TEXT NOT NULL,
  merchant TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  quote_id TEXT
);
-- USSD sessions that reached their final action (payment, PIN change), so that a gateway retry of the same
-- session gets the first answer instead of acting twice.
CREATE TABLE ussd_sessions (
  session_id TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  reply TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX ussd_sessions_created ON ussd_sessions(created_at);
-- The quote on the PIN screen a USSD session showed last (one per session; kept as long as ussd_sessions).
CREATE TABLE ussd_quotes (
  session_id TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  quote_id TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX ussd_quotes_created ON ussd_quotes(created_at);

-- Cash agents: their float and commission accounts, their till, their PIN, and what moved.
CREATE TABLE agents (
  merchant_id TEXT PRIMARY KEY REFERENCES merchants(id),
  float_account_id TEXT NOT NULL UNIQUE,
  commission_account_id TEXT NOT NULL UNIQUE,
  till_request_id TEXT NOT NULL,
  till_code TEXT NOT NULL,
  pin_hash TEXT,
  pin_attempts INTEGER NOT NULL DEFAULT 0,
  pin_locked INTEGER NOT NULL DEFAULT 0,
  activation_hash TEXT,
  created_at BIGINT NOT NULL
);
-- Float funding, cash-in and cash-out of an agent; a cash-out's id is the incoming transfer's id.
CREATE TABLE agent_movements (
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents(merchant_id),
  kind TEXT NOT NULL CHECK (kind IN ('float', 'cash_in', 'cash_out')),
  amount TEXT NOT NULL,
  commission TEXT NOT NULL,
  currency TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX agent_movements_agent ON agent_movements(agent_id, created_at);

-- Bill payment (billers by biller code) and airtime top-ups.
CREATE TABLE billers (
  biller_code TEXT PRIMARY KEY,
  merchant_id TEXT NOT NULL,
  account_pattern TEXT,
  min_amount TEXT,
  max_amount TEXT,
  airtime INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE TABLE airtime_topups (
  payment_id TEXT PRIMARY KEY,
  customer_id TEXT,
  phone TEXT NOT NULL,
  amount TEXT NOT NULL,
  currency TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

-- Standing orders (mandates) a customer approved once (PIN + device signature). \`next_at\` is when the next
-- instalment is due (NULL once it stopped); \`slot\` its index on the schedule from \`start_at\`; \`seq\` the
-- instalments started.
CREATE TABLE mandates (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  device_id TEXT NOT NULL,
  nonce TEXT NOT NULL UNIQUE,
  request_id TEXT NOT NULL,
  payee TEXT NOT NULL,
  merchant TEXT NOT NULL,
  amount TEXT NOT NULL,
  max_amount TEXT NOT NULL,
  currency TEXT NOT NULL,
  interval_spec TEXT NOT NULL,
  start_at BIGINT NOT NULL,
  end_at BIGINT,
  max_count INTEGER,
  slot INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL DEFAULT 0,
  paid INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'CANCELLED', 'COMPLETED')),
  next_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX mandates_customer ON mandates(customer_id, created_at);
CREATE INDEX mandates_due ON mandates(status, next_at);
-- One row per instalment started, claimed in the same transaction that moves the mandate on; its payment's
-- nonce is derived from mandate id and seq, so that a retry after a crash never pays it twice.
CREATE TABLE mandate_instalments (
  mandate_id TEXT NOT NULL REFERENCES mandates(id),
  seq INTEGER NOT NULL,
  due_at BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('CLAIMED', 'PENDING', 'COMPLETED', 'FAILED')),
  payment_id TEXT,
  error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (mandate_id, seq)
);
CREATE INDEX mandate_instalments_open ON mandate_instalments(status, updated_at);
`;
