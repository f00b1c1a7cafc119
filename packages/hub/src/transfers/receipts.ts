/**
 * Checking a payee processor's receipt before the hub commits on it: signed by the payee's key, of type
 * `semops-receipt+jws`, and about exactly this transfer (payment id, request, payee, amount).
 */
import {
  RECEIPT_TYP,
  receipt as receiptSchema,
  verifyJson,
  type Key,
  type TransferPrepare,
} from '@semops/protocol';

/** True when `jws` is a valid receipt of the payee for transfer `t`. */
export async function receiptMatches(
  jws: string | undefined,
  t: TransferPrepare,
  payeeKey: Key,
): Promise<boolean> {
  if (jws === undefined) return false;
  let payload: unknown;
  try {
    payload = await verifyJson(jws, payeeKey, RECEIPT_TYP);
  } catch {
    return false;
  }
  const parsed = receiptSchema.safeParse(payload);
  if (!parsed.success) return false;
  const r = parsed.data;
  return (
    r.paymentId === t.transferId &&
    r.requestId === t.requestId &&
    r.processorId === t.payee &&
    r.amount.value === t.amount.value &&
    r.amount.currency === t.amount.currency
  );
}
