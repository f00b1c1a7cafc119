/** Tables of mandates (scheduled and recurring payments); portable SQL for SQLite and PostgreSQL. */
export const MANDATES_SQL = `
-- A mandate the customer approved once (PIN + device signature). \`next_at\` is when the next instalment is due
-- (NULL once it stopped); \`slot\` its index on the schedule from \`start_at\`; \`seq\` the instalments started.
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
CREATE INDEX mandates_due ON mandates(status, next_at);
CREATE INDEX mandates_customer ON mandates(customer_id, created_at);
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
