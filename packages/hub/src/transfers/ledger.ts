/**
 * The ledger commands that make the hub's positions follow a transfer: a pending transfer pos:payer →
 * pos:payee reserves it (keyed by the transfer id, so re-issuing it is a replay), a post commits it, a void
 * releases it. A committed purchase with interchange also moves the interchange back, pos:payee → pos:payer,
 * as a single-phase transfer `<id>:ic` booked atomically with the post.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Ledger, LedgerCommand, LedgerErrorCode } from '@semops/ledger';
import type { ErrorCode, TransferPrepare } from '@semops/protocol';
import { positionAccountId } from '../positions/service.js';
import type { Writer } from '../shared/writer.js';
import type { TransferRecord, TransferStore } from './store.js';

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

/**
 * Makes the ledger follow final states: posts a commit (with its interchange), voids an abort; returns the
 * transfers it now follows. Idempotent: replayed after a crash by the sweep.
 */
export function createLedgerFollower(deps: {
  readonly ledger: Ledger;
  readonly store: TransferStore;
  readonly writer: Writer;
  readonly log: FastifyBaseLogger;
}): (records: readonly TransferRecord[]) => Promise<string[]> {
  const { ledger, store, writer, log } = deps;
  /**
   * A commit with interchange: the post of the reservation and the interchange transfer back, atomically.
   * Replayed, both are replays. True when the ledger holds both.
   */
  const postWithInterchange = async (r: TransferRecord): Promise<boolean> => {
    const ic = interchangeTransfer(r);
    const { command } = settlement(r);
    if (!ic) return false;
    const [post, back] = await ledger.executeAtomic([command, ic]);
    if (post?.ok && back?.ok) return true;
    // Posted before under another command id: book the interchange alone (idempotent by its id).
    if (post && !post.ok && SETTLED.post.includes(post.code)) {
      const [alone] = await ledger.execute([ic]);
      if (alone?.ok) return true;
    }
    log.error(
      {
        transferId: r.transferId,
        op: 'post',
        code: post && !post.ok ? post.code : back && !back.ok ? back.code : undefined,
      },
      'ledger did not follow the transfer state',
    );
    return false;
  };

  /** Makes the ledger follow final states: post a commit (with its interchange), void an abort. */
  const settleLedger = async (records: readonly TransferRecord[]): Promise<string[]> => {
    const todo = records.filter((r) => !r.ledgerDone && (r.state === 'COMMITTED' || r.state === 'ABORTED'));
    if (todo.length === 0) return [];
    const paired = todo.filter((r) => r.state === 'COMMITTED' && interchangeTransfer(r) !== undefined);
    const single = todo.filter((r) => !paired.includes(r));
    const done: string[] = [];
    if (single.length > 0) {
      const plan = single.map(settlement);
      const results = await ledger.execute(plan.map((p) => p.command));
      results.forEach((res, i) => {
        const r = single[i]!;
        const { op } = plan[i]!;
        if (res.ok || SETTLED[op].includes(res.code)) done.push(r.transferId);
        else
          log.error(
            { transferId: r.transferId, op, code: res.code },
            'ledger did not follow the transfer state',
          );
      });
    }
    const pairs = await Promise.all(paired.map(postWithInterchange));
    pairs.forEach((ok, i) => {
      if (ok) done.push(paired[i]!.transferId);
    });
    // Not awaited: the flag only saves a replay of the (idempotent) post or void after a restart, so it rides
    // along with the next batch of writes.
    if (done.length > 0) {
      writer
        .write((tx) => store.markLedgerDone(tx, done))
        .catch((err: unknown) => log.error({ err }, 'marking ledger done failed'));
    }
    return done;
  };

  return settleLedger;
}
