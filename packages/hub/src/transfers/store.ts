/**
 * The hub's record of every transfer it accepted, and the state transitions of transfers, one function per
 * transition over a batch. Each transition is a conditional `UPDATE … WHERE state = 'RESERVED'` in the
 * caller's transaction (run them through the `Writer`), so a transfer moves RESERVED → COMMITTED | ABORTED
 * exactly once, whatever races between a fulfil, a reject and the expiry timer, on SQLite and on
 * PostgreSQL, with one hub instance or several.
 *
 * A row is written (RESERVED) before the ledger reservation, so the ledger never holds a reservation the hub
 * does not know; after a crash the reservation of every RESERVED row is re-issued (ledger commands are
 * idempotent by id). `ledger_done` says whether the ledger has followed a final state (post or void).
 */
import { createHash } from 'node:crypto';
import { sql, type Selectable, type UpdateObject } from 'kysely';
import type { MoneyWireT, TransferEvent, TransferFees, TransferPrepare } from '@semops/protocol';
import type { OutboxStore } from '../notifications/store.js';
import { windowForCommit } from '../settlement/store.js';
import {
  chunks,
  millis,
  type HubDb,
  type HubTables,
  type HubTransferState,
  type TransfersTable,
} from '../shared/schema.js';

export type { HubTransferState };

/** The hub's record of a transfer. */
export interface TransferRecord {
  readonly transferId: string;
  readonly requestId: string;
  /** The original payment, when this transfer is a refund of it. */
  readonly refundOf?: string;
  readonly payer: string;
  readonly payee: string;
  readonly amount: { readonly value: string; readonly currency: string };
  readonly expiresAt: number;
  readonly state: HubTransferState;
  /** Why it was aborted: an error code such as TRANSFER_EXPIRED or the payee's rejection code. */
  readonly reason?: string;
  /** The payee processor's signed receipt (COMMITTED only). */
  readonly receipt?: string;
  readonly contentHash: string;
  readonly ledgerDone: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** What the payer said the transfer pays for (absent: p2p). */
  readonly purpose?: 'purchase' | 'p2p';
  /** The hub's fees, fixed at prepare (purchases under the fee schedule). */
  readonly fees?: TransferFees;
  /** The payer's conversion, as it reported it (for the settlement report). */
  readonly fx?: TransferFx;
  /** The settlement window the transfer committed in (COMMITTED only). */
  readonly windowId?: string;
}

/** What a converting payer processor reports about a transfer (`TransferPrepare.fx`). */
export interface TransferFx {
  /** The total debited from the customer, in the customer's currency. */
  readonly source: MoneyWireT;
  /** The FX margin the payer processor kept, in the customer's currency. */
  readonly margin: MoneyWireT;
  /** Its conversion fee, in the customer's currency (absent: none reported). */
  readonly fee?: MoneyWireT;
  readonly rate: string;
}

/** The result of a transition: whether it changed the transfer, and the record after it. */
export interface Transition {
  readonly changed: boolean;
  readonly record: TransferRecord;
}

type Row = Selectable<TransfersTable>;

function toRecord(r: Row): TransferRecord {
  return {
    transferId: r.transfer_id,
    requestId: r.request_id,
    ...(r.refund_of === null ? {} : { refundOf: r.refund_of }),
    payer: r.payer,
    payee: r.payee,
    amount: { value: r.amount, currency: r.currency },
    expiresAt: millis(r.expires_at),
    state: r.state,
    ...(r.reason === null ? {} : { reason: r.reason }),
    ...(r.receipt === null ? {} : { receipt: r.receipt }),
    contentHash: r.content_hash,
    ledgerDone: r.ledger_done === 1,
    createdAt: millis(r.created_at),
    updatedAt: millis(r.updated_at),
    ...(r.purpose === null ? {} : { purpose: r.purpose }),
    ...(r.fee_msc === null || r.fee_interchange === null
      ? {}
      : { fees: { msc: r.fee_msc, interchange: r.fee_interchange } }),
    ...(r.fx === null ? {} : { fx: JSON.parse(r.fx) as TransferFx }),
    ...(r.window_id === null ? {} : { windowId: r.window_id }),
  };
}

/** The fees of a transfers row, as sent on the wire. */
export function feesOf(r: {
  fee_msc: string | null;
  fee_interchange: string | null;
}): TransferFees | undefined {
  return r.fee_msc === null || r.fee_interchange === null
    ? undefined
    : { msc: r.fee_msc, interchange: r.fee_interchange };
}

/** Digest of what a prepare asks for: the same transfer id with another digest is a conflict. */
export function contentHash(t: TransferPrepare): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        t.transferId,
        t.requestId,
        t.payer,
        t.payee,
        t.amount.value,
        t.amount.currency,
        t.expiresAt,
        // Absent for payments, so their digests stay what they were before refunds existed.
        ...(t.refundOf === undefined ? [] : [t.refundOf]),
        // Likewise for what came with cross-border settlement. Not the fees: the hub sets those.
        ...(t.purpose === undefined ? [] : [{ purpose: t.purpose }]),
        // The conversion fee likewise: a conversion reported without one keeps its digest.
        ...(t.fx === undefined
          ? []
          : [{ fx: [t.fx.source, t.fx.margin, t.fx.rate, ...(t.fx.fee === undefined ? [] : [t.fx.fee])] }]),
      ]),
    )
    .digest('hex');
}

/** The payee's receipt for a transfer it fulfilled. */
export interface Fulfilment {
  readonly transferId: string;
  readonly receipt: string;
}

/** Why a transfer is aborted. */
export interface Abort {
  readonly transferId: string;
  readonly reason: string;
}

/**
 * Reads run on the store's own connection unless a transaction is given; every write takes the caller's
 * transaction `tx`. Transitions answer one `Transition` per id, in the order given.
 */
export interface TransferStore {
  get(transferId: string): Promise<TransferRecord | undefined>;
  getMany(transferIds: readonly string[], tx?: HubDb): Promise<Map<string, TransferRecord>>;
  /**
   * Records accepted prepares (distinct ids), RESERVED, just before the ledger reserves them; answers the
   * ids that were new (an id already known is left as it is). Their `fees` must be the hub's own.
   */
  insertReserved(tx: HubDb, transfers: readonly TransferPrepare[], now: number): Promise<Set<string>>;
  /**
   * RESERVED → ABORTED when the ledger refused the reservation: nothing was reserved and the payer gets the
   * refusal as its answer, so nobody is notified.
   */
  refuse(tx: HubDb, aborts: readonly Abort[], now: number): Promise<Transition[]>;
  /**
   * RESERVED → COMMITTED with the payee's receipt, when the fulfil was received before expiry; received
   * at or after expiry it is RESERVED → ABORTED (TRANSFER_EXPIRED). Queues notifications to both.
   */
  commit(
    tx: HubDb,
    fulfilments: readonly Fulfilment[],
    receivedAt: number,
    now: number,
  ): Promise<Transition[]>;
  /** RESERVED → ABORTED (a reject, an invalid receipt). Queues notifications to both processors. */
  abort(tx: HubDb, aborts: readonly Abort[], now: number): Promise<Transition[]>;
  /** RESERVED → ABORTED (TRANSFER_EXPIRED) for those past their expiry. Queues notifications to both. */
  expire(tx: HubDb, transferIds: readonly string[], now: number): Promise<Transition[]>;
  /** Marks that the ledger has posted or voided the reservations. */
  markLedgerDone(tx: HubDb, transferIds: readonly string[]): Promise<void>;
  /** RESERVED transfers whose expiry has passed, oldest first. */
  dueForExpiry(now: number, limit: number): Promise<string[]>;
  /** Every RESERVED transfer (to re-issue their reservations after a restart). */
  allReserved(): Promise<TransferRecord[]>;
  /** Final transfers whose ledger post or void is not yet done, last changed before `before`. */
  ledgerBehind(before: number, limit: number): Promise<TransferRecord[]>;
}

type FinalState = Exclude<HubTransferState, 'RESERVED'>;

// The conditions of the partial indexes (shared/schema.ts), as literals: a planner uses a partial index only
// for a query whose WHERE implies the index's, which a bound parameter does not.
const RESERVED = sql<boolean>`state = 'RESERVED'`;
const LEDGER_BEHIND = sql<boolean>`ledger_done = 0 AND state IN ('COMMITTED', 'ABORTED')`;

export function createTransferStore(db: HubDb, outbox: OutboxStore): TransferStore {
  const getMany = async (ids: readonly string[], tx: HubDb = db): Promise<Map<string, TransferRecord>> => {
    const out = new Map<string, TransferRecord>();
    for (const part of chunks(ids)) {
      const rows = await tx.selectFrom('transfers').selectAll().where('transfer_id', 'in', part).execute();
      for (const r of rows) out.set(r.transfer_id, toRecord(r));
    }
    return out;
  };

  /**
   * Moves those of `ids` that are still RESERVED (and match `expiredAt`, when given) to a final state with
   * one conditional UPDATE per chunk; the rows it changed.
   */
  const finish = async (
    tx: HubDb,
    ids: readonly string[],
    set: UpdateObject<HubTables, 'transfers'> & { state: FinalState },
    opts: { expiredAt?: number; liveAt?: number } = {},
  ): Promise<Row[]> => {
    const changed: Row[] = [];
    for (const part of chunks(ids)) {
      let q = tx
        .updateTable('transfers')
        .set(set)
        .where('transfer_id', 'in', part)
        .where('state', '=', 'RESERVED');
      if (opts.expiredAt !== undefined) q = q.where('expires_at', '<=', opts.expiredAt);
      if (opts.liveAt !== undefined) q = q.where('expires_at', '>', opts.liveAt);
      changed.push(...(await q.returningAll().execute()));
    }
    return changed;
  };

  /** Queues `transfer.notify` events for both processors of each changed transfer. */
  const notifyBoth = (tx: HubDb, changed: readonly Row[], now: number): Promise<void> =>
    outbox.enqueue(
      tx,
      changed.flatMap((r) => {
        const fees = feesOf(r);
        const event: TransferEvent = {
          transferId: r.transfer_id,
          state: r.state as FinalState,
          ...(r.reason === null ? {} : { reason: r.reason }),
          ...(fees === undefined ? {} : { fees }),
        };
        return [r.payer, r.payee].map((processorId) => ({ processorId, event }));
      }),
      now,
    );

  /** The transition of each id, in order: changed rows as changed, the others as they are now. */
  const transitions = async (tx: HubDb, ids: readonly string[], changed: readonly Row[]) => {
    const byId = new Map(changed.map((r) => [r.transfer_id, r]));
    const others = await getMany(
      ids.filter((id) => !byId.has(id)),
      tx,
    );
    return ids.map((id): Transition => {
      const row = byId.get(id);
      if (row) return { changed: true, record: toRecord(row) };
      const record = others.get(id);
      if (!record) throw new Error(`transfer ${id} not found`);
      return { changed: false, record };
    });
  };

  /** Aborts with each abort's own reason (one UPDATE per distinct reason). */
  const abortEach = async (
    tx: HubDb,
    aborts: readonly Abort[],
    now: number,
    ledgerDone: boolean,
  ): Promise<Row[]> => {
    const byReason = new Map<string, string[]>();
    for (const a of aborts) byReason.set(a.reason, [...(byReason.get(a.reason) ?? []), a.transferId]);
    const changed: Row[] = [];
    for (const [reason, ids] of byReason) {
      const set = {
        state: 'ABORTED' as const,
        reason,
        updated_at: now,
        ...(ledgerDone ? { ledger_done: 1 } : {}),
      };
      changed.push(...(await finish(tx, ids, set)));
    }
    return changed;
  };

  return {
    async get(id) {
      return (await getMany([id])).get(id);
    },

    getMany,

    async insertReserved(tx, transfers, now) {
      const inserted = new Set<string>();
      for (const part of chunks(transfers)) {
        const rows = await tx
          .insertInto('transfers')
          .values(
            part.map((t) => ({
              transfer_id: t.transferId,
              request_id: t.requestId,
              refund_of: t.refundOf ?? null,
              payer: t.payer,
              payee: t.payee,
              amount: t.amount.value,
              currency: t.amount.currency,
              expires_at: t.expiresAt,
              state: 'RESERVED' as const,
              content_hash: contentHash(t),
              created_at: now,
              updated_at: now,
              purpose: t.purpose ?? null,
              fee_msc: t.fees?.msc ?? null,
              fee_interchange: t.fees?.interchange ?? null,
              fx: t.fx === undefined ? null : JSON.stringify(t.fx),
            })),
          )
          .onConflict((oc) => oc.column('transfer_id').doNothing())
          .returning('transfer_id')
          .execute();
        for (const r of rows) inserted.add(r.transfer_id);
      }
      return inserted;
    },

    async refuse(tx, aborts, now) {
      const changed = await abortEach(tx, aborts, now, true);
      return transitions(
        tx,
        aborts.map((a) => a.transferId),
        changed,
      );
    },

    async commit(tx, fulfilments, receivedAt, now) {
      const ids = fulfilments.map((f) => f.transferId);
      const committed: Row[] = [];
      // The open settlement window, locked against its close until this transaction ends: every transfer
      // committed here belongs to a window whose report is not yet made (see settlement/store.ts).
      const window = fulfilments.length === 0 ? undefined : await windowForCommit(tx);
      // Never before the window opened (a commit that waited for a close): commit times stay inside windows.
      const committedAt = Math.max(now, window?.openedAt ?? 0);
      for (const part of chunks(fulfilments)) {
        // Each transfer gets its own receipt in the one UPDATE.
        const receipt = sql<string>`CASE transfer_id ${sql.join(
          part.map((f) => sql`WHEN ${f.transferId} THEN ${f.receipt}`),
          sql` `,
        )} END`;
        committed.push(
          ...(await finish(
            tx,
            part.map((f) => f.transferId),
            { state: 'COMMITTED', receipt, updated_at: committedAt, window_id: window?.windowId ?? null },
            { liveAt: receivedAt },
          )),
        );
      }
      // A fulfil received at or after expiry does not commit: those still RESERVED end as expired.
      const done = new Set(committed.map((r) => r.transfer_id));
      const late = await finish(
        tx,
        ids.filter((id) => !done.has(id)),
        { state: 'ABORTED', reason: 'TRANSFER_EXPIRED', updated_at: now },
      );
      const changed = [...committed, ...late];
      await notifyBoth(tx, changed, now);
      return transitions(tx, ids, changed);
    },

    async abort(tx, aborts, now) {
      const changed = await abortEach(tx, aborts, now, false);
      await notifyBoth(tx, changed, now);
      return transitions(
        tx,
        aborts.map((a) => a.transferId),
        changed,
      );
    },

    async expire(tx, ids, now) {
      const changed = await finish(
        tx,
        ids,
        { state: 'ABORTED', reason: 'TRANSFER_EXPIRED', updated_at: now },
        { expiredAt: now },
      );
      await notifyBoth(tx, changed, now);
      return transitions(tx, ids, changed);
    },

    async markLedgerDone(tx, ids) {
      for (const part of chunks(ids)) {
        await tx.updateTable('transfers').set({ ledger_done: 1 }).where('transfer_id', 'in', part).execute();
      }
    },

    async dueForExpiry(now, limit) {
      const rows = await db
        .selectFrom('transfers')
        .select('transfer_id')
        .where(RESERVED)
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      return rows.map((r) => r.transfer_id);
    },

    async allReserved() {
      const rows = await db
        .selectFrom('transfers')
        .selectAll()
        .where(RESERVED)
        .orderBy('expires_at')
        .execute();
      return rows.map(toRecord);
    },

    async ledgerBehind(before, limit) {
      const rows = await db
        .selectFrom('transfers')
        .selectAll()
        .where(LEDGER_BEHIND)
        .where('updated_at', '<', before)
        .orderBy('updated_at')
        .limit(limit)
        .execute();
      return rows.map(toRecord);
    },
  };
}
