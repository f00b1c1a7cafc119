/** Tables of bill payment (billers by biller code) and airtime top-ups (migration `0007_bills`). */
export const V7_BILLS = `
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
`;
