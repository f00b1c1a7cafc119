/**
 * The notification outbox: one row per final transfer outcome per processor to tell, written in the same
 * transaction as the state change, deleted once the processor acknowledged it. Survives restarts.
 */
import { migrate, type Db } from '@semops/node';
import type { TransferEvent } from '@semops/protocol';

export interface OutboxRow {
  readonly seq: number;
  readonly event: TransferEvent;
}

export interface OutboxStore {
  /** Queues an event for a processor. Run inside the transaction of the state change. */
  enqueue(processorId: string, event: TransferEvent, now: number): void;
  /** The oldest `limit` events waiting for a processor. */
  next(processorId: string, limit: number): OutboxRow[];
  /** Removes delivered events. */
  remove(seqs: readonly number[]): void;
  /** Processors with events waiting. */
  processorsWaiting(): string[];
  /** How many events wait for a processor (for tests and operators). */
  count(processorId?: string): number;
}

export function createOutboxStore(db: Db): OutboxStore {
  migrate(db, 'hub-outbox', [
    `CREATE TABLE outbox (
       seq INTEGER PRIMARY KEY,
       processor_id TEXT NOT NULL,
       transfer_id TEXT NOT NULL,
       state TEXT NOT NULL CHECK (state IN ('COMMITTED', 'ABORTED')),
       reason TEXT,
       created_at INTEGER NOT NULL
     )`,
    'CREATE INDEX outbox_by_processor ON outbox (processor_id, seq)',
  ]);
  const insert = db.prepare(
    // A transfer reaches its final state once (see transfers/store.ts), so each event is queued once.
    'INSERT INTO outbox (processor_id, transfer_id, state, reason, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const select = db.prepare<
    [string, number],
    { seq: number; transfer_id: string; state: 'COMMITTED' | 'ABORTED'; reason: string | null }
  >('SELECT seq, transfer_id, state, reason FROM outbox WHERE processor_id = ? ORDER BY seq LIMIT ?');
  const del = db.prepare('DELETE FROM outbox WHERE seq = ?');
  const waiting = db.prepare<[], { processor_id: string }>('SELECT DISTINCT processor_id FROM outbox');
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox');
  const countOne = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM outbox WHERE processor_id = ?',
  );
  return {
    enqueue(processorId, event, now) {
      insert.run(processorId, event.transferId, event.state, event.reason ?? null, now);
    },
    next(processorId, limit) {
      return select.all(processorId, limit).map((r) => ({
        seq: r.seq,
        event: {
          transferId: r.transfer_id,
          state: r.state,
          ...(r.reason === null ? {} : { reason: r.reason }),
        },
      }));
    },
    remove(seqs) {
      for (const seq of seqs) del.run(seq);
    },
    processorsWaiting: () => waiting.all().map((r) => r.processor_id),
    count: (processorId) => (processorId === undefined ? countAll.get()! : countOne.get(processorId)!).n,
  };
}
