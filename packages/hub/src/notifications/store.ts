/**
 * The notification outbox: one row per final transfer outcome per processor to tell, written in the same
 * transaction as the state change, deleted once the processor acknowledged it. Survives restarts. The fees of
 * a transfer are read from its record when the event is sent.
 */
import type { TransferEvent } from '@semops/protocol';
import { chunks, type HubDb } from '../shared/schema.js';

export interface OutboxRow {
  readonly seq: number;
  readonly event: TransferEvent;
}

export interface OutboxStore {
  /** Queues events in `tx`, the transaction of the state change. */
  enqueue(
    tx: HubDb,
    items: ReadonlyArray<{ processorId: string; event: TransferEvent }>,
    now: number,
  ): Promise<void>;
  /** The oldest `limit` events waiting for a processor. */
  next(processorId: string, limit: number): Promise<OutboxRow[]>;
  /** Removes delivered events. */
  remove(tx: HubDb, seqs: readonly number[]): Promise<void>;
  /** Processors with events waiting. */
  processorsWaiting(): Promise<string[]>;
  /** How many events wait for a processor, or for all (for tests and operators). */
  count(processorId?: string): Promise<number>;
}

export function createOutboxStore(db: HubDb): OutboxStore {
  return {
    async enqueue(tx, items, now) {
      // A transfer reaches its final state once (see transfers/store.ts), so each event is queued once.
      for (const part of chunks(items)) {
        await tx
          .insertInto('outbox')
          .values(
            part.map(({ processorId, event }) => ({
              processor_id: processorId,
              transfer_id: event.transferId,
              state: event.state,
              reason: event.reason ?? null,
              created_at: now,
            })),
          )
          .execute();
      }
    },

    async next(processorId, limit) {
      const rows = await db
        .selectFrom('outbox')
        .leftJoin('transfers', 'transfers.transfer_id', 'outbox.transfer_id')
        .select([
          'outbox.seq',
          'outbox.transfer_id',
          'outbox.state',
          'outbox.reason',
          'transfers.fee_msc',
          'transfers.fee_interchange',
        ])
        .where('outbox.processor_id', '=', processorId)
        .orderBy('outbox.seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        seq: Number(r.seq),
        event: {
          transferId: r.transfer_id,
          state: r.state,
          ...(r.reason === null ? {} : { reason: r.reason }),
          ...(r.fee_msc === null || r.fee_interchange === null
            ? {}
            : { fees: { msc: r.fee_msc, interchange: r.fee_interchange } }),
        },
      }));
    },

    async remove(tx, seqs) {
      for (const part of chunks(seqs)) await tx.deleteFrom('outbox').where('seq', 'in', part).execute();
    },

    async processorsWaiting() {
      const rows = await db.selectFrom('outbox').select('processor_id').distinct().execute();
      return rows.map((r) => r.processor_id);
    },

    async count(processorId) {
      let q = db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n'));
      if (processorId !== undefined) q = q.where('processor_id', '=', processorId);
      const row = await q.executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
