/**
 * This processor's side of settlement (issue 5): when the hub closes a settlement window it sends
 * `settlement.notice` with this processor's net position per currency for the window (positive: it receives;
 * negative: it pays). The processor books each non-zero position against its settlement account — idempotently
 * by window and currency (`stl:<windowId>:<CUR>`) — after which its `settlement:<CUR>` balance no longer
 * carries the window, and records the window in `settlements`.
 */
import type { Ledger, TransferCommand } from '@semops/ledger';
import type { Sql, Log } from '@semops/node';
import { SemopsError, type SettlementNotice } from '@semops/protocol';
import type { HouseAccounts } from '../house-accounts.js';
import { book } from '../requests/payee-bookings.js';

export interface SettlementDeps {
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly house: HouseAccounts;
  readonly processorId: string;
  readonly now: () => number;
  readonly log?: Log;
}

export interface Position {
  readonly currency: string;
  /** Signed minor units: positive = this processor receives, negative = it pays. */
  readonly net: string;
}

export interface BookedWindow {
  readonly windowId: string;
  readonly openedAt: number;
  readonly closedAt: number;
  readonly positions: readonly Position[];
  readonly bookedAt: number;
}

interface SettlementRow {
  window_id: string;
  opened_at: number;
  closed_at: number;
  positions: string;
  booked_at: number;
}

/** The ledger id of a window's settlement booking in one currency. */
export const settlementTransferId = (windowId: string, currency: string) => `stl:${windowId}:${currency}`;

/** Positions in one canonical form (by currency, no duplicates, `-0` as `0`), to store and compare. */
export function normalizePositions(positions: readonly Position[]): Position[] {
  const seen = new Set<string>();
  for (const p of positions) {
    if (seen.has(p.currency)) {
      throw new SemopsError('VALIDATION_FAILED', `The positions name ${p.currency} twice.`);
    }
    seen.add(p.currency);
  }
  return [...positions]
    .map((p) => ({ currency: p.currency, net: BigInt(p.net).toString() }))
    .sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
}

function windowOf(r: SettlementRow): BookedWindow {
  return {
    windowId: r.window_id,
    openedAt: Number(r.opened_at),
    closedAt: Number(r.closed_at),
    positions: JSON.parse(r.positions) as Position[],
    bookedAt: Number(r.booked_at),
  };
}

export function createSettlementService(deps: SettlementDeps) {
  const { q, ledger, house, now } = deps;

  /** net < 0 (pays): settlement → nostro |net|; net > 0 (receives): nostro → settlement net. */
  async function commandsFor(windowId: string, positions: readonly Position[]): Promise<TransferCommand[]> {
    const out: TransferCommand[] = [];
    for (const p of positions) {
      const net = BigInt(p.net);
      if (net === 0n) continue;
      const settlement = await house.settlement(p.currency);
      const nostro = await house.nostro(p.currency);
      out.push({
        kind: 'transfer',
        id: settlementTransferId(windowId, p.currency),
        debitAccountId: net < 0n ? settlement : nostro,
        creditAccountId: net < 0n ? nostro : settlement,
        amount: net < 0n ? -net : net,
        currency: p.currency,
        code: 'settlement',
        reference: windowId,
      });
    }
    return out;
  }

  const service = {
    /**
     * Books a closed window's positions. Idempotent: the same notice again books nothing more and answers
     * `{ booked: true }`; a notice for a booked window with other positions or times is refused
     * (TRANSFER_CONFLICT) and logged, and nothing is booked.
     */
    async book(n: SettlementNotice): Promise<{ booked: true }> {
      if (n.closedAt < n.openedAt) {
        throw new SemopsError('VALIDATION_FAILED', 'The window closes before it opens.');
      }
      const positions = normalizePositions(n.positions);
      const stored = JSON.stringify(positions);
      const existing = await q.one<SettlementRow>`SELECT * FROM settlements WHERE window_id = ${n.windowId}`;
      const differs = (r: SettlementRow) =>
        r.positions !== stored || Number(r.opened_at) !== n.openedAt || Number(r.closed_at) !== n.closedAt;
      if (existing && differs(existing)) {
        deps.log?.error(
          {
            windowId: n.windowId,
            booked: existing.positions,
            notice: stored,
          },
          'settlement notice differs from the booked window; not booked again',
        );
        throw new SemopsError(
          'TRANSFER_CONFLICT',
          `Settlement window ${n.windowId} was booked with positions ${existing.positions}; ` +
            `this notice says ${stored}. Nothing was booked; check the hub's report.`,
        );
      }
      // Booked first, recorded second: a crash in between is repaired by the hub's retry (the bookings
      // replay as no-ops). Running the bookings again for a recorded window also repairs a lost booking.
      await book(ledger, await commandsFor(n.windowId, positions), `settlement window ${n.windowId}`);
      if (!existing) {
        await q.run`INSERT INTO settlements (window_id, opened_at, closed_at, positions, booked_at)
          VALUES (${n.windowId}, ${n.openedAt}, ${n.closedAt}, ${stored}, ${now()})
          ON CONFLICT (window_id) DO NOTHING`;
        const row = await q.one<SettlementRow>`SELECT * FROM settlements WHERE window_id = ${n.windowId}`;
        if (row && differs(row)) {
          throw new SemopsError(
            'TRANSFER_CONFLICT',
            `Settlement window ${n.windowId} was booked concurrently with other positions.`,
          );
        }
        deps.log?.info({ windowId: n.windowId, positions: stored }, 'settlement window booked');
      }
      return { booked: true };
    },

    /** The booked windows, newest first. */
    async list(limit = 100): Promise<BookedWindow[]> {
      const rows = await q.all<SettlementRow>`SELECT * FROM settlements
        ORDER BY closed_at DESC, window_id DESC LIMIT ${limit}`;
      return rows.map(windowOf);
    },

    /** One booked window, if any. */
    async get(windowId: string): Promise<BookedWindow | undefined> {
      const r = await q.one<SettlementRow>`SELECT * FROM settlements WHERE window_id = ${windowId}`;
      return r ? windowOf(r) : undefined;
    },
  };
  return service;
}

export type SettlementService = ReturnType<typeof createSettlementService>;
