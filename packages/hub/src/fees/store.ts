/**
 * The fee schedule table: the whole schedule is read at once (it is small) and replaced at once.
 */
import { chunks, type HubDb } from '../shared/schema.js';
import type { FeeEntry } from './schedule.js';

export interface FeeStore {
  /** The schedule, ordered by payee then currency (`*` first). */
  all(tx?: HubDb): Promise<FeeEntry[]>;
  /** Replaces the whole schedule in `tx`. */
  replace(tx: HubDb, entries: readonly FeeEntry[], now: number): Promise<void>;
}

export function createFeeStore(db: HubDb): FeeStore {
  return {
    async all(tx = db) {
      const rows = await tx
        .selectFrom('fee_schedule')
        .selectAll()
        .orderBy('payee')
        .orderBy('currency')
        .execute();
      return rows.map((r) => ({
        payee: r.payee,
        currency: r.currency,
        mscBps: Number(r.msc_bps),
        mscFixed: r.msc_fixed,
        interchangeBps: Number(r.interchange_bps),
      }));
    },

    async replace(tx, entries, now) {
      await tx.deleteFrom('fee_schedule').execute();
      for (const part of chunks(entries)) {
        await tx
          .insertInto('fee_schedule')
          .values(
            part.map((e) => ({
              payee: e.payee,
              currency: e.currency,
              msc_bps: e.mscBps,
              msc_fixed: e.mscFixed,
              interchange_bps: e.interchangeBps,
              updated_at: now,
            })),
          )
          .execute();
      }
    },
  };
}
