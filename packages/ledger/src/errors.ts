/**
 * Ledger result codes: every expected failure of a ledger command is one of these, never a thrown string.
 */
export type LedgerErrorCode =
  | 'ACCOUNT_NOT_FOUND'
  | 'ACCOUNT_EXISTS_DIFFERENT'
  | 'CURRENCY_MISMATCH'
  | 'SAME_ACCOUNT'
  | 'AMOUNT_NOT_POSITIVE'
  | 'EXCEEDS_CREDITS'
  | 'EXCEEDS_DEBITS'
  | 'ID_EXISTS_DIFFERENT'
  | 'PENDING_NOT_FOUND'
  | 'PENDING_ALREADY_POSTED'
  | 'PENDING_ALREADY_VOIDED'
  | 'PENDING_EXPIRED'
  | 'POST_AMOUNT_EXCEEDS_PENDING'
  | 'INVALID_COMMAND'
  | 'LINKED_FAILED';

/** One message per code; adding a code without a message fails to compile. */
export const LEDGER_ERROR_MESSAGES: Readonly<Record<LedgerErrorCode, string>> = {
  ACCOUNT_NOT_FOUND: 'account not found',
  ACCOUNT_EXISTS_DIFFERENT: 'an account with this id exists with different currency, rule or code',
  CURRENCY_MISMATCH: 'the currency does not match the currency of both accounts',
  SAME_ACCOUNT: 'the debit and credit accounts are the same',
  AMOUNT_NOT_POSITIVE: 'the amount must be greater than zero',
  EXCEEDS_CREDITS: 'insufficient funds: the debits would exceed the credits of the debit account',
  EXCEEDS_DEBITS: 'the credits would exceed the debits of the credit account',
  ID_EXISTS_DIFFERENT: 'a command with this id exists with different content',
  PENDING_NOT_FOUND: 'pending transfer not found',
  PENDING_ALREADY_POSTED: 'the pending transfer is already posted',
  PENDING_ALREADY_VOIDED: 'the pending transfer is already voided',
  PENDING_EXPIRED: 'the pending transfer has expired',
  POST_AMOUNT_EXCEEDS_PENDING: 'the amount to post exceeds the pending amount',
  INVALID_COMMAND: 'the command is malformed',
  LINKED_FAILED: 'not applied because another command of the atomic batch failed',
};

/** All codes, in declaration order. */
export const LEDGER_ERROR_CODES = Object.keys(LEDGER_ERROR_MESSAGES) as readonly LedgerErrorCode[];

/** True when `value` is a {@link LedgerErrorCode}. */
export function isLedgerErrorCode(value: unknown): value is LedgerErrorCode {
  return typeof value === 'string' && Object.hasOwn(LEDGER_ERROR_MESSAGES, value);
}

/**
 * Thrown by the convenience methods (`createAccount`, `transfer`, `post`, `void`) when a command fails.
 * `execute` never throws it for a failing command: it returns `{ ok: false, code, message }` instead.
 *
 * @example
 * try { await ledger.transfer(cmd) } catch (e) {
 *   if (e instanceof LedgerError && e.code === 'EXCEEDS_CREDITS') return 'insufficient funds';
 *   throw e;
 * }
 */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string = LEDGER_ERROR_MESSAGES[code],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
