/**
 * The close of a settlement window: in one transaction the open window is locked, its transfers summed per
 * processor and currency, the report checked to sum to zero, the window closed, the next one opened, and the
 * report lines and the notices to send stored.
 */
import type { FastifyBaseLogger } from 'fastify';
import { SemopsError, newId } from '@semops/protocol';
import type { HubDb } from '../shared/schema.js';
import { imbalances } from './report.js';
import type { SettlementStore } from './store.js';

export type CloseOutcome =
  | { readonly kind: 'closed'; readonly windowId: string }
  | { readonly kind: 'empty' | 'skipped'; readonly windowId: string }
  | { readonly kind: 'not-open' };

/**
 * The close of the OPEN window, in the caller's transaction `tx`: lock the window, sum its transfers, close it,
 * open the next, store the report lines and the notices to send. With `windowId`, only that window;
 * with `openedBefore`, only a window opened before then (the schedule: two hub instances at one boundary
 * close one window, not two). Throws INTERNAL (transaction rolled back, window left open) if the report does
 * not sum to zero in some currency.
 */
export async function closeOpenWindow(
  tx: HubDb,
  store: SettlementStore,
  opts: {
    readonly now: number;
    readonly log: Pick<FastifyBaseLogger, 'fatal'>;
    readonly windowId?: string;
    readonly openedBefore?: number;
  },
): Promise<CloseOutcome> {
  const w = await store.lockOpenWindow(tx);
  if (!w || (opts.windowId !== undefined && w.windowId !== opts.windowId)) return { kind: 'not-open' };
  if (opts.openedBefore !== undefined && w.openedAt >= opts.openedBefore)
    return { kind: 'skipped', windowId: w.windowId };
  // Summed by the database: a window of a million transfers closes without loading them.
  const sums = await store.sums(w.windowId, tx);
  if (sums.transfers === 0) return { kind: 'empty', windowId: w.windowId };
  const lines = sums.lines;
  const off = imbalances(lines);
  if (off.size > 0) {
    const totals = Object.fromEntries([...off].map(([c, v]) => [c, v.toString()]));
    opts.log.fatal(
      { windowId: w.windowId, sums: totals },
      'SETTLEMENT REPORT DOES NOT SUM TO ZERO; window left open',
    );
    throw new SemopsError(
      'INTERNAL',
      `The report of ${w.windowId} does not sum to zero in ${[...off.keys()].join(', ')}; the window stays open.`,
    );
  }
  // Never before a transfer of the window committed: every commit time lies in [openedAt, closedAt].
  const closedAt = Math.max(sums.lastCommittedAt ?? 0, opts.now, w.openedAt);
  await store.close(tx, w, closedAt, sums.transfers, { windowId: newId('win'), openedAt: closedAt });
  await store.insertPositions(tx, w.windowId, lines, closedAt);
  const notified = [...new Set(lines.filter((l) => l.transfers > 0).map((l) => l.processorId))];
  await store.insertNotices(tx, w.windowId, notified, closedAt);
  return { kind: 'closed', windowId: w.windowId };
}
