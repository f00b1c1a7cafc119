// Idempotency: when a command's id is already stored, the command is a replay if its content is the
// same as the stored one's, and a conflict otherwise. Content is compared by effect: a post without an
// amount equals a post of the full amount, and an omitted code or reference equals the inherited one.
// Storage-independent: both stores share it through the batch engine.
import type { TransferRecord } from './records.js';
import type { ValidPost, ValidTransfer, ValidVoid } from './validate.js';

export function sameTransferCommand(c: ValidTransfer, stored: TransferRecord): boolean {
  const timeoutMs = stored.timeoutAt === null ? undefined : stored.timeoutAt - stored.createdAt;
  return (
    stored.kind === (c.pending ? 'pending' : 'single') &&
    stored.debitAccountId === c.debitAccountId &&
    stored.creditAccountId === c.creditAccountId &&
    stored.amount === c.amount &&
    stored.currency === c.currency &&
    timeoutMs === c.timeoutMs &&
    stored.code === (c.code ?? null) &&
    stored.reference === (c.reference ?? null)
  );
}

/** `pending` is the transfer named by the command's `pendingId`, when it exists. */
export function sameResolveCommand(
  c: ValidPost | ValidVoid,
  stored: TransferRecord,
  pending: TransferRecord | undefined,
): boolean {
  if (pending === undefined || stored.kind !== c.kind || stored.pendingId !== c.pendingId) return false;
  const amount = c.kind === 'post' ? (c.amount ?? pending.amount) : pending.amount;
  return (
    stored.amount === amount &&
    stored.code === (c.code ?? pending.code) &&
    stored.reference === (c.reference ?? pending.reference)
  );
}
