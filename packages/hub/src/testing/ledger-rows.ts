/**
 * Reads the hub ledger's settlement bookings straight from its table, on a connection of the caller's (the hub
 * may keep running: these are plain reads). For tests that check what a window's settlement booked.
 *
 * @example
 * const store = await net.openHubStore();
 * const rows = await settlementBookings(store, windowId);
 * await store.close();
 */
import { sql } from 'kysely';
import type { Store } from '@semops/node';

/** One settlement booking of the hub's ledger (id `<windowId>:<pid>:<CUR>`). */
export interface SettlementBooking {
  readonly id: string;
  readonly debit: string;
  readonly credit: string;
  readonly amount: bigint;
  readonly currency: string;
}

/** The settlement bookings of a window, by id. */
export async function settlementBookings(store: Store, windowId: string): Promise<SettlementBooking[]> {
  const { rows } = await sql<{
    id: string;
    debit_account_id: string;
    credit_account_id: string;
    amount: string | number | bigint;
    currency: string;
  }>`SELECT id, debit_account_id, credit_account_id, amount, currency FROM ledger_transfers
      WHERE code = 'settlement' AND reference = ${windowId} ORDER BY id`.execute(store.db);
  return rows.map((r) => ({
    id: r.id,
    debit: r.debit_account_id,
    credit: r.credit_account_id,
    amount: BigInt(r.amount),
    currency: r.currency,
  }));
}

/** The balance (debits − credits) of every `stl:` account the bookings touch, summed per currency. */
export function settlementSums(bookings: readonly SettlementBooking[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const b of bookings) {
    const signed =
      (b.debit.startsWith('stl:') ? b.amount : 0n) - (b.credit.startsWith('stl:') ? b.amount : 0n);
    sums.set(b.currency, (sums.get(b.currency) ?? 0n) + signed);
  }
  return sums;
}
