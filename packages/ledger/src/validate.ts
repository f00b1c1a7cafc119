// Structural validation of commands, before any storage is touched. Storage-independent, so the
// PostgreSQL store shares it. Inputs come from JavaScript callers too, so nothing is trusted.
import { LEDGER_ERROR_MESSAGES, type LedgerErrorCode } from './errors.js';
import type { AccountRule, LedgerFailure } from './types.js';
import { ACCOUNT_RULES } from './types.js';

/** Largest value of a signed 64-bit integer column: the bound of every amount and running sum. */
export const MAX_AMOUNT = 2n ** 63n - 1n;

const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const CURRENCY_RE = /^[A-Z]{3}$/;
const MAX_CODE = 64;
const MAX_REFERENCE = 256;
/** A century: far beyond any hold, and `now + timeoutMs` stays a safe integer. */
const MAX_TIMEOUT_MS = 100 * 365 * 86_400_000;

export interface ValidCreateAccount {
  readonly kind: 'createAccount';
  readonly id: string;
  readonly currency: string;
  readonly rule: AccountRule;
  readonly code: string;
}

export interface ValidTransfer {
  readonly kind: 'transfer';
  readonly id: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly pending: boolean;
  readonly timeoutMs: number | undefined;
  readonly code: string | undefined;
  readonly reference: string | undefined;
}

export interface ValidPost {
  readonly kind: 'post';
  readonly id: string;
  readonly pendingId: string;
  readonly amount: bigint | undefined;
  readonly code: string | undefined;
  readonly reference: string | undefined;
}

export interface ValidVoid {
  readonly kind: 'void';
  readonly id: string;
  readonly pendingId: string;
  readonly code: string | undefined;
  readonly reference: string | undefined;
}

export type ValidCommand = ValidCreateAccount | ValidTransfer | ValidPost | ValidVoid;

/** Builds a failure result; `detail` says which input or record was at fault. */
export function fail(code: LedgerErrorCode, detail?: string): LedgerFailure {
  const base = LEDGER_ERROR_MESSAGES[code];
  return { ok: false, code, message: detail === undefined ? base : `${base}: ${detail}` };
}

/** Thrown inside validation only, to stop at the first fault; never escapes `validateCommand`. */
class Invalid extends Error {
  constructor(readonly failure: LedgerFailure) {
    super(failure.message);
  }
}

function invalid(detail: string): never {
  throw new Invalid(fail('INVALID_COMMAND', detail));
}

function id(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID_RE.test(value)) invalid(`${field} must match ${ID_RE.source}`);
  return value;
}

function currency(value: unknown): string {
  if (typeof value !== 'string' || !CURRENCY_RE.test(value)) {
    invalid('currency must be an ISO 4217 alpha code');
  }
  return value;
}

function text(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    invalid(`${field} must be a string of 1 to ${max} characters`);
  }
  return value;
}

function amount(value: unknown): bigint {
  if (typeof value !== 'bigint') invalid('amount must be a bigint of minor units');
  if (value <= 0n) throw new Invalid(fail('AMOUNT_NOT_POSITIVE', `amount ${value}`));
  if (value > MAX_AMOUNT) invalid('amount exceeds the 64-bit range');
  return value;
}

function timeout(value: unknown, pending: boolean): number {
  if (!pending) invalid('timeoutMs is only allowed on a pending transfer');
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    invalid(`timeoutMs must be an integer of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }
  return value;
}

function rule(value: unknown): AccountRule {
  if (!ACCOUNT_RULES.includes(value as AccountRule))
    invalid(`rule must be one of ${ACCOUNT_RULES.join(', ')}`);
  return value as AccountRule;
}

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalid('command must be an object');
  return value as Record<string, unknown>;
}

function validateUnsafe(input: unknown): ValidCommand {
  const c = record(input);
  switch (c.kind) {
    case 'createAccount':
      return {
        kind: 'createAccount',
        id: id(c.id, 'id'),
        currency: currency(c.currency),
        rule: rule(c.rule),
        code: text(c.code, 'code', MAX_CODE) ?? invalid('code is required'),
      };
    case 'transfer': {
      const cmdId = id(c.id, 'id');
      const debitAccountId = id(c.debitAccountId, 'debitAccountId');
      const creditAccountId = id(c.creditAccountId, 'creditAccountId');
      const value = amount(c.amount);
      const cur = currency(c.currency);
      if (c.pending !== undefined && typeof c.pending !== 'boolean') invalid('pending must be a boolean');
      const pending = c.pending === true;
      const timeoutMs = c.timeoutMs === undefined ? undefined : timeout(c.timeoutMs, pending);
      const code = text(c.code, 'code', MAX_CODE);
      const reference = text(c.reference, 'reference', MAX_REFERENCE);
      if (debitAccountId === creditAccountId) {
        throw new Invalid(fail('SAME_ACCOUNT', debitAccountId));
      }
      return {
        kind: 'transfer',
        id: cmdId,
        debitAccountId,
        creditAccountId,
        amount: value,
        currency: cur,
        pending,
        timeoutMs,
        code,
        reference,
      };
    }
    case 'post': {
      const cmdId = id(c.id, 'id');
      const pendingId = id(c.pendingId, 'pendingId');
      const value = c.amount === undefined ? undefined : amount(c.amount);
      const code = text(c.code, 'code', MAX_CODE);
      const reference = text(c.reference, 'reference', MAX_REFERENCE);
      return { kind: 'post', id: cmdId, pendingId, amount: value, code, reference };
    }
    case 'void': {
      const cmdId = id(c.id, 'id');
      const pendingId = id(c.pendingId, 'pendingId');
      const code = text(c.code, 'code', MAX_CODE);
      const reference = text(c.reference, 'reference', MAX_REFERENCE);
      return { kind: 'void', id: cmdId, pendingId, code, reference };
    }
    default:
      return invalid('kind must be createAccount, transfer, post or void');
  }
}

/** Checks the shape and ranges of a command; a failure is `INVALID_COMMAND`, `AMOUNT_NOT_POSITIVE` or `SAME_ACCOUNT`. */
export function validateCommand(input: unknown): ValidCommand | LedgerFailure {
  try {
    return validateUnsafe(input);
  } catch (e) {
    if (e instanceof Invalid) return e.failure;
    // A getter or proxy on the caller's object threw: still bad input, not a ledger fault.
    return fail('INVALID_COMMAND', e instanceof Error ? e.message : 'unreadable command');
  }
}
