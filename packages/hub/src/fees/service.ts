/**
 * The fee schedule at the hub: the operator replaces it as a whole (validated; a bad schedule changes
 * nothing), and the transfer service asks for the fees of each purchase at prepare, when they are fixed for
 * the life of the transfer.
 */
import { SemopsError, type TransferFees, type TransferPrepare } from '@semops/protocol';
import type { ParticipantService } from '../participants/service.js';
import type { Writer } from '../shared/writer.js';
import { feesFor, isFeeable, validateSchedule, type FeeEntry } from './schedule.js';
import type { FeeStore } from './store.js';

export interface FeeService {
  list(): Promise<FeeEntry[]>;
  /** Replaces the schedule; FEE_SCHEDULE_INVALID (details: `{ issues: [{ path, message }] }`) changes nothing. */
  replace(input: unknown): Promise<FeeEntry[]>;
  /**
   * The hub's fees for each transfer of a prepare, by transfer id (absent: no fees), as sent on the wire.
   * Reads the schedule once, and only when the batch holds a purchase.
   */
  forPrepares(transfers: readonly TransferPrepare[]): Promise<Map<string, TransferFees>>;
}

export interface FeeServiceDeps {
  readonly store: FeeStore;
  readonly writer: Writer;
  readonly participants: ParticipantService;
  readonly now: () => number;
}

export function createFeeService(deps: FeeServiceDeps): FeeService {
  return {
    list: () => deps.store.all(),

    async replace(input) {
      const checked = validateSchedule(input, {
        currenciesOf: (id) => deps.participants.get(id)?.currencies,
      });
      if ('issues' in checked) {
        const first = checked.issues[0];
        throw new SemopsError(
          'FEE_SCHEDULE_INVALID',
          `The fee schedule is not valid, ${first ? `${first.path}: ${first.message}` : 'see details'}; nothing was changed.`,
          { issues: checked.issues },
        );
      }
      await deps.writer.write((tx) => deps.store.replace(tx, checked.entries, deps.now()));
      return checked.entries;
    },

    async forPrepares(transfers) {
      const out = new Map<string, TransferFees>();
      if (!transfers.some(isFeeable)) return out;
      const entries = await deps.store.all();
      for (const t of transfers) {
        const fees = feesFor(entries, t);
        if (fees)
          out.set(t.transferId, { msc: fees.msc.toString(), interchange: fees.interchange.toString() });
      }
      return out;
    },
  };
}
