/**
 * Agents' tables (migration `0006_agents`): an agent is a merchant of kind `agent` whose merchant account is
 * its float, with a commission account, a till (a reusable request for cash-out) and a PIN (keyed hash).
 */
export const AGENTS_MIGRATION = `
ALTER TABLE merchants ADD COLUMN kind TEXT NOT NULL DEFAULT 'merchant';
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
`;
