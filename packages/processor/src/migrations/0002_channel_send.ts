/**
 * Sending money by SMS and USSD (issue 14): what an SMS confirmation waits to do (pay a merchant or send to a
 * person), the person a USSD session looked up (so that replaying the session's inputs asks the payee's
 * processor once), and the error code of a finished USSD session's answer (a gateway retry gets it again).
 */
export const channelSend = `
ALTER TABLE sms_confirmations ADD COLUMN kind TEXT NOT NULL DEFAULT 'pay';
-- The person a USSD session looked up for "Send money" (one per session; kept as long as ussd_sessions):
-- what was typed (phone or name@processor), and the request payable to them that the session pays.
CREATE TABLE ussd_payees (
  session_id TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  target TEXT NOT NULL,
  request_id TEXT NOT NULL,
  payee TEXT NOT NULL,
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX ussd_payees_created ON ussd_payees(created_at);
ALTER TABLE ussd_sessions ADD COLUMN code TEXT;
`;
