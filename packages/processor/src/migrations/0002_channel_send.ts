/**
 * Sending money, bills, airtime and the inbox by SMS and USSD (issue 14): what an SMS confirmation waits to
 * do (pay, send money to a person, buy airtime), what a USSD session picked (a person looked up, a bill or
 * airtime asked for, a request from the inbox), so that replaying the session's inputs asks the payee's
 * processor once and keeps paying what the customer saw, and the error code of a finished USSD session's
 * answer (a gateway retry gets it again).
 */
export const channelSend = `
ALTER TABLE sms_confirmations ADD COLUMN kind TEXT NOT NULL DEFAULT 'pay';
-- What a USSD session picked to pay (one per session; kept as long as ussd_sessions): what the customer
-- typed or chose (target), and the request resolved for it as the phone shows it (JSON).
CREATE TABLE ussd_picks (
  session_id TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  target TEXT NOT NULL,
  pick TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX ussd_picks_created ON ussd_picks(created_at);
ALTER TABLE ussd_sessions ADD COLUMN code TEXT;
`;
