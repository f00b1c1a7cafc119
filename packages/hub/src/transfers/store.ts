/**
 * The hub's record of every transfer it accepted, and the state transitions of a transfer as single
 * functions. Each transition reads the current state and changes it in the same SQLite transaction (run
 * them through the `Writer`), so a transfer moves RESERVED → COMMITTED | ABORTED exactly once, whatever
 * races between a fulfil, a reject and the expiry timer.
 *
 * A row is written (RESERVED) before the ledger reservation, so the ledger never holds a reservation the hub
 * does not know; after a crash the reservation of every RESERVED row is re-issued (ledger commands are
 * idempotent by id). `ledger_done` says whether the ledger has followed a final state (post or void).
 */
import { createHash } from 'node:crypto';
import { migrate, type Db } from '@semops/node';
import type { TransferEvent, TransferPrepare } from '@semops/protocol';
import type { OutboxStore } from '../notifications/store.js';

export type HubTransferState = 'RESERVED' | 'COMMITTED' | 'ABORTED';

/** The hub's record of a transfer. */
export interface TransferRecord {
  readonly transferId: string;
  readonly requestId: string;
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
}

/** The result of a transition: whether it changed the transfer, and the record after it. */
export interface Transition {
  readonly changed: boolean;
  readonly record: TransferRecord;
}

interface Row {
  transfer_id: string;
  request_id: string;
  payer: string;
  payee: string;
  amount: string;
  currency: string;
  expires_at: number;
  state: HubTransferState;
  reason: string | null;
  receipt: string | null;
  content_hash: string;
  ledger_done: number;
  created_at: number;
  updated_at: number;
}

function toRecord(r: Row): TransferRecord {
  return {
    transferId: r.transfer_id,
    requestId: r.request_id,
    payer: r.payer,
    payee: r.payee,
    amount: { value: r.amount, currency: r.currency },
    expiresAt: r.expires_at,
    state: r.state,
    ...(r.reason === null ? {} : { reason: r.reason }),
    ...(r.receipt === null ? {} : { receipt: r.receipt }),
    contentHash: r.content_hash,
    ledgerDone: r.ledger_done === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
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
      ]),
    )
    .digest('hex');
}

export interface TransferStore {
  get(transferId: string): TransferRecord | undefined;
  /** Records an accepted prepare, RESERVED, just before the ledger reserves it; false when the id exists. */
  insertReserved(t: TransferPrepare, now: number): boolean;
  /**
   * RESERVED → ABORTED when the ledger refused the reservation: nothing was reserved and the payer gets the
   * refusal as its answer, so nobody is notified.
   */
  refuse(transferId: string, reason: string, now: number): Transition;
  /**
   * RESERVED → COMMITTED with the payee's receipt, when the fulfil was received before expiry; received
   * at or after expiry it is RESERVED → ABORTED (TRANSFER_EXPIRED). Queues notifications to both.
   */
  commit(transferId: string, receipt: string, receivedAt: number, now: number): Transition;
  /** RESERVED → ABORTED (a reject, an invalid receipt). Queues notifications to both processors. */
  abort(transferId: string, reason: string, now: number): Transition;
  /** RESERVED → ABORTED (TRANSFER_EXPIRED) when past its expiry. */
  expire(transferId: string, now: number): Transition;
  /** Marks that the ledger has posted or voided the reservation. */
  markLedgerDone(transferIds: readonly string[]): void;
  /** RESERVED transfers whose expiry has passed. */
  dueForExpiry(now: number, limit: number): string[];
  /** Every RESERVED transfer (to re-issue their reservations after a restart). */
  allReserved(): TransferRecord[];
  /** Final transfers whose ledger post or void is not yet done, last changed before `before`. */
  ledgerBehind(before: number, limit: number): TransferRecord[];
}

export function createTransferStore(db: Db, outbox: OutboxStore): TransferStore {
  migrate(db, 'hub-transfers', [
    `CREATE TABLE transfers (
       transfer_id TEXT PRIMARY KEY,
       request_id TEXT NOT NULL,
       payer TEXT NOT NULL,
       payee TEXT NOT NULL,
       amount TEXT NOT NULL CHECK (length(amount) BETWEEN 1 AND 19),
       currency TEXT NOT NULL,
       expires_at INTEGER NOT NULL,
       state TEXT NOT NULL CHECK (state IN ('RESERVED', 'COMMITTED', 'ABORTED')),
       reason TEXT,
       receipt TEXT,
       content_hash TEXT NOT NULL,
       ledger_done INTEGER NOT NULL DEFAULT 0,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL,
       CHECK (payer <> payee),
       CHECK (state <> 'COMMITTED' OR receipt IS NOT NULL)
     )`,
    `CREATE INDEX transfers_reserved ON transfers (expires_at) WHERE state = 'RESERVED'`,
    `CREATE INDEX transfers_ledger_behind ON transfers (updated_at)
       WHERE ledger_done = 0 AND state IN ('COMMITTED', 'ABORTED')`,
  ]);

  const select = db.prepare<[string], Row>('SELECT * FROM transfers WHERE transfer_id = ?');
  const insert = db.prepare(
    `INSERT INTO transfers (transfer_id, request_id, payer, payee, amount, currency, expires_at, state, content_hash,
       created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'RESERVED', ?, ?, ?) ON CONFLICT (transfer_id) DO NOTHING`,
  );
  const setState = db.prepare(
    'UPDATE transfers SET state = ?, reason = ?, receipt = ?, ledger_done = ?, updated_at = ? WHERE transfer_id = ?',
  );
  const setLedgerDone = db.prepare('UPDATE transfers SET ledger_done = 1 WHERE transfer_id = ?');
  const selectDue = db.prepare<[number, number], { transfer_id: string }>(
    `SELECT transfer_id FROM transfers WHERE state = 'RESERVED' AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
  );
  const selectReserved = db.prepare<[], Row>(
    `SELECT * FROM transfers WHERE state = 'RESERVED' ORDER BY expires_at`,
  );
  const selectBehind = db.prepare<[number, number], Row>(
    `SELECT * FROM transfers WHERE ledger_done = 0 AND state IN ('COMMITTED', 'ABORTED') AND updated_at < ?
     ORDER BY updated_at LIMIT ?`,
  );

  const load = (id: string): Row => {
    const row = select.get(id);
    if (!row) throw new Error(`transfer ${id} not found`);
    return row;
  };

  /** Applies a final state and queues the notifications, in the caller's transaction. */
  const finish = (
    row: Row,
    state: 'COMMITTED' | 'ABORTED',
    fields: { reason?: string; receipt?: string; ledgerDone?: boolean; notify: readonly string[] },
    now: number,
  ): Transition => {
    setState.run(
      state,
      fields.reason ?? null,
      fields.receipt ?? null,
      fields.ledgerDone ? 1 : 0,
      now,
      row.transfer_id,
    );
    const event: TransferEvent = {
      transferId: row.transfer_id,
      state,
      ...(fields.reason === undefined ? {} : { reason: fields.reason }),
    };
    for (const pid of fields.notify) outbox.enqueue(pid, event, now);
    return { changed: true, record: toRecord(load(row.transfer_id)) };
  };
  const unchanged = (row: Row): Transition => ({ changed: false, record: toRecord(row) });

  return {
    get(id) {
      const row = select.get(id);
      return row && toRecord(row);
    },

    insertReserved(t, now) {
      const r = insert.run(
        t.transferId,
        t.requestId,
        t.payer,
        t.payee,
        t.amount.value,
        t.amount.currency,
        t.expiresAt,
        contentHash(t),
        now,
        now,
      );
      return r.changes === 1;
    },

    refuse(id, reason, now) {
      const row = load(id);
      if (row.state !== 'RESERVED') return unchanged(row);
      return finish(row, 'ABORTED', { reason, ledgerDone: true, notify: [] }, now);
    },

    commit(id, receipt, receivedAt, now) {
      const row = load(id);
      if (row.state !== 'RESERVED') return unchanged(row);
      if (receivedAt >= row.expires_at) {
        return finish(row, 'ABORTED', { reason: 'TRANSFER_EXPIRED', notify: [row.payer, row.payee] }, now);
      }
      return finish(row, 'COMMITTED', { receipt, notify: [row.payer, row.payee] }, now);
    },

    abort(id, reason, now) {
      const row = load(id);
      if (row.state !== 'RESERVED') return unchanged(row);
      return finish(row, 'ABORTED', { reason, notify: [row.payer, row.payee] }, now);
    },

    expire(id, now) {
      const row = load(id);
      if (row.state !== 'RESERVED' || row.expires_at > now) return unchanged(row);
      return finish(row, 'ABORTED', { reason: 'TRANSFER_EXPIRED', notify: [row.payer, row.payee] }, now);
    },

    markLedgerDone(ids) {
      for (const id of ids) setLedgerDone.run(id);
    },

    dueForExpiry: (now, limit) => selectDue.all(now, limit).map((r) => r.transfer_id),
    allReserved: () => selectReserved.all().map(toRecord),
    ledgerBehind: (before, limit) => selectBehind.all(before, limit).map(toRecord),
  };
}
