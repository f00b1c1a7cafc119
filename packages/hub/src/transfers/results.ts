/**
 * What the payer processor is told per transfer (`PrepareResult`), and the bounded wait for a payee.
 */
import { ERRORS, isErrorCode, type PrepareResult } from '@semops/protocol';
import type { TransferRecord } from './store.js';

/** The `{ code, message }` of an abort, with the code's standard message unless a better one is known. */
export function errorInfo(code: string, message?: string): { code: string; message: string } {
  const fallback = isErrorCode(code) ? ERRORS[code].message : 'The transfer was aborted.';
  return { code: code.slice(0, 40), message: (message ?? fallback).slice(0, 300) };
}

/** What the payer is told about a transfer in its current state. */
export function resultOf(r: TransferRecord, message?: string): PrepareResult {
  const state = r.state;
  const fees = r.fees === undefined ? {} : { fees: r.fees };
  if (state === 'COMMITTED' && r.receipt !== undefined)
    return { transferId: r.transferId, state, receipt: r.receipt, ...fees };
  if (state === 'ABORTED') {
    const error = errorInfo(r.reason ?? 'TRANSFER_REJECTED', message);
    return { transferId: r.transferId, state, error, ...fees };
  }
  return { transferId: r.transferId, state, ...fees };
}

/** `work`'s result, or an empty map when it takes longer than `ms` (work keeps running). */
export function withDeadline<K, V>(work: Promise<Map<K, V>>, ms: number): Promise<Map<K, V>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(new Map()), Math.max(ms, 0));
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(new Map());
      },
    );
  });
}
