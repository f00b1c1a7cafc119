/**
 * Currency conversion on the payer side (migration `0009_fx`): the exchange rates in force, the converting
 * processor's spread / fee / quote validity, the quotes shown to customers, and on each payment what it was
 * converted at. Rates and configuration live here, not in process memory, so that every instance of a
 * processor quotes the same. Self-contained: touches only its own tables and adds columns to `payments`.
 */
export const FX_MIGRATION = `
-- Mid (reference) rates: 1 major unit of base = rate major units of quote, as the exact decimal given.
-- A pair is held once, in one direction; quotes invert it exactly when needed.
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
-- Quotes shown to a customer before the PIN, for one request and amount; used by at most one payment.
-- Amounts are minor units as decimal text; rates exact fractions (num/den, 1 target = num/den payer).
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
-- A converted payment: the conversion as JSON (quote, total debited, rates, legs) and the total debited in
-- the customer's currency (what spending limits count); the hub's fees once known (JSON {msc, interchange}).
ALTER TABLE payments ADD COLUMN fx TEXT;
ALTER TABLE payments ADD COLUMN charged TEXT;
ALTER TABLE payments ADD COLUMN fees TEXT;
`;
