/**
 * What the hub decides about a prepare before it reserves anything: whether it refuses it (and why), and the
 * prepare as it records it and as the payee gets it (the hub's fees, not the payer's; no conversion report).
 */
import type { ErrorCode, PrepareResult, TransferFees, TransferPrepare } from '@semops/protocol';
import type { ParticipantService } from '../participants/service.js';
import { errorInfo } from './results.js';

/** Longest a prepare may stay open. */
export const MAX_TRANSFER_TTL_MS = 24 * 60 * 60_000;

/** `forward` is the prepare as the payee gets it (see `toPayee`). */
export type Admission = { readonly result: PrepareResult } | { readonly forward: TransferPrepare };

/**
 * A prepare as the hub records it and the payee gets it: the hub's fees instead of any the payer sent. The
 * payer's conversion (`fx`) is for the hub's report only and is not passed on.
 */
export function withHubFees(t: TransferPrepare, fees: TransferFees | undefined): TransferPrepare {
  const { fees: _sent, ...rest } = t;
  return fees === undefined ? rest : { ...rest, fees };
}

export function toPayee(t: TransferPrepare): TransferPrepare {
  const { fx: _fx, ...rest } = t;
  return rest;
}

/**
 * What is wrong with a payer's conversion report, if anything: the margin and the fee are in the currency the
 * customer paid in (`source`, the total debited), and both are parts of that total.
 */
export function fxProblem(t: TransferPrepare): string | undefined {
  if (!t.fx) return undefined;
  const { source, margin, fee } = t.fx;
  if (source.currency !== margin.currency)
    return 'fx.source and fx.margin must both be in the currency the customer paid in.';
  if (fee !== undefined && fee.currency !== source.currency)
    return 'fx.fee must be in the currency the customer paid in, that of fx.source.';
  if (source.currency === t.amount.currency)
    return 'fx describes a conversion: its currency must differ from the transfer currency.';
  if (BigInt(margin.value) > BigInt(source.value)) return 'fx.margin cannot exceed fx.source.';
  if (fee !== undefined && BigInt(fee.value) > BigInt(source.value)) return 'fx.fee cannot exceed fx.source.';
  if (fee !== undefined && BigInt(margin.value) + BigInt(fee.value) > BigInt(source.value))
    return 'fx.margin and fx.fee together cannot exceed fx.source.';
  return undefined;
}

export function refusal(transferId: string, code: ErrorCode, message?: string): PrepareResult {
  return { transferId, state: 'ABORTED', error: errorInfo(code, message) };
}

export function refused(transferId: string, code: ErrorCode, message?: string): Admission {
  return { result: refusal(transferId, code, message) };
}

/**
 * Why the hub refuses a prepare before recording it, if it does: payer and payee the same, either unknown or
 * not clearing the currency, expired or expiring more than a day away, or a conversion report that does not
 * add up.
 */
export function checkPrepare(
  t: TransferPrepare,
  at: number,
  participants: Pick<ParticipantService, 'get'>,
): Admission | undefined {
  if (t.payer === t.payee) {
    return refused(
      t.transferId,
      'VALIDATION_FAILED',
      'Payer and payee are the same processor; such a payment stays inside it.',
    );
  }
  const payer = participants.get(t.payer);
  const payee = participants.get(t.payee);
  if (!payer || !payee)
    return refused(t.transferId, 'PARTICIPANT_NOT_FOUND', `No participant ${payer ? t.payee : t.payer}.`);
  const cur = t.amount.currency;
  if (!payer.currencies.includes(cur) || !payee.currencies.includes(cur)) {
    return refused(
      t.transferId,
      'CURRENCY_NOT_SUPPORTED',
      `${cur} is not cleared by both ${t.payer} and ${t.payee}.`,
    );
  }
  if (t.expiresAt <= at)
    return refused(t.transferId, 'TRANSFER_EXPIRED', 'The transfer had expired when it reached the hub.');
  if (t.expiresAt > at + MAX_TRANSFER_TTL_MS) {
    return refused(t.transferId, 'VALIDATION_FAILED', 'expiresAt is more than 24 hours away.');
  }
  const fx = fxProblem(t);
  if (fx) return refused(t.transferId, 'VALIDATION_FAILED', fx);
  return undefined;
}
