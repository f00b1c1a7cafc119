/**
 * The ledger commands that make the hub's positions follow a transfer: a pending transfer pos:payer →
 * pos:payee reserves it (keyed by the transfer id, so re-issuing it is a replay), a post commits it, a void
 * releases it. A committed purchase with interchange also moves the interchange back, pos:payee → pos:payer,
 * as a single-phase transfer `<id>:ic` booked atomically with the post.
 */
import type { LedgerCommand, LedgerErrorCode } from '@semops/ledger';
import type { ErrorCode, TransferPrepare } from '@semops/protocol';
import { positionAccountId } from '../positions/service.js';
import type { TransferRecord } from './store.js';

/** The ledger's pending transfer that reserves a transfer: pos:payer → pos:payee, keyed by the transfer id. */
export function reservation(
  t: Pick<TransferPrepare, 'transferId' | 'requestId' | 'payer' | 'payee' | 'amount'>,
): LedgerCommand {
  return {
    kind: 'transfer',
    id: t.transferId,
    debitAccountId: positionAccountId(t.payer, t.amount.currency),
    creditAccountId: positionAccountId(t.payee, t.amount.currency),
    amount: BigInt(t.amount.value),
    currency: t.amount.currency,
    pending: true,
    code: 'payment',
    reference: t.requestId,
  };
}

/** The payer's error code for a ledger refusal of a reservation. */
export function refusalCode(code: LedgerErrorCode | undefined): ErrorCode {
  if (code === 'EXCEEDS_CREDITS') return 'NET_DEBIT_CAP_EXCEEDED';
  if (code === 'ID_EXISTS_DIFFERENT') return 'TRANSFER_CONFLICT';
  return 'INTERNAL';
}

/** Post a committed transfer's reservation, or void an aborted one's. */
export function settlement(r: TransferRecord): { command: LedgerCommand; op: 'post' | 'void' } {
  return r.state === 'COMMITTED'
    ? { command: { kind: 'post', id: `${r.transferId}:post`, pendingId: r.transferId }, op: 'post' }
    : { command: { kind: 'void', id: `${r.transferId}:void`, pendingId: r.transferId }, op: 'void' };
}

/** Ledger codes meaning the post or void already happened, or there is nothing left to void. */
export const SETTLED: Record<'post' | 'void', readonly LedgerErrorCode[]> = {
  post: ['PENDING_ALREADY_POSTED'],
  void: ['PENDING_ALREADY_VOIDED', 'PENDING_NOT_FOUND', 'PENDING_EXPIRED'],
};

/** The interchange of a committed transfer, payee → payer (`<id>:ic`), or undefined when it has none. */
export function interchangeTransfer(r: TransferRecord): LedgerCommand | undefined {
  if (r.state !== 'COMMITTED' || r.fees === undefined) return undefined;
  const amount = BigInt(r.fees.interchange);
  if (amount <= 0n) return undefined;
  return {
    kind: 'transfer',
    id: `${r.transferId}:ic`,
    debitAccountId: positionAccountId(r.payee, r.amount.currency),
    creditAccountId: positionAccountId(r.payer, r.amount.currency),
    amount,
    currency: r.amount.currency,
    code: 'interchange',
    reference: r.requestId,
  };
}
