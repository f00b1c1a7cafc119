/**
 * Settlement windows at the hub (docs/settlement.md):
 *
 * - Exactly one window is OPEN; every transfer that commits belongs to it (window_id is set in the same UPDATE
 *   as COMMITTED; see store.ts for why a close can never miss or gain a transfer).
 * - Closing a window (operator command, or the schedule at every `intervalMs` boundary when the window has
 *   transfers) makes its multilateral net report, stores it, and opens the next window, in one transaction.
 * - Then the hub books each processor's net in its ledger between its settlement and liquidity accounts
 *   (`stl:<pid>:<CUR>` ↔ `liq:<pid>:<CUR>`, id `<windowId>:<pid>:<CUR>`; see `command`), and sends each
 *   processor with transfers in the window a `settlement.notice`, retried with back-off until it answers
 *   `{ booked: true }`. Both survive restarts: what is left to do is in the hub's tables and the sweep
 *   finishes it.
 *
 * A window is booked only once the ledger holds every one of its transfers (post and interchange): the
 * nets would otherwise move liquidity that the positions do not show yet. If the ledger cannot follow a
 * transfer of the window (`followLedger` false or failing), the window's lines stay to do and are tried
 * again with back-off (and logged); its notices wait for them. A booking the ledger refuses (for instance an
 * account missing after an upgrade, which is then opened) is retried the same way. The net debit cap never
 * refuses one: liquidity accounts have no limit.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Ledger, LedgerCommand } from '@semops/ledger';
import { startLoop, type AuditLog, type Loop, type NodeClient } from '@semops/node';
import {
  PROCESSOR_MESSAGES,
  SemopsError,
  newId,
  type SettlementNotice,
  type TransferFees,
} from '@semops/protocol';
import type { ParticipantService } from '../participants/service.js';
import { liquidityAccountId, settlementAccountId, type PositionService } from '../positions/service.js';
import type { Writer } from '../shared/writer.js';
import {
  currencyTotals,
  feeLines,
  instructions,
  toWire,
  type SettlementStatus,
  type WindowReport,
} from './report.js';
import type { PositionLine, SettlementStore, StoredPosition, WindowRecord } from './store.js';
import { closeOpenWindow, type CloseOutcome } from './close.js';

/** A window as listed to the operator. */
export interface WindowView {
  readonly windowId: string;
  readonly state: 'OPEN' | 'CLOSED';
  readonly openedAt: number;
  readonly closedAt?: number;
  readonly transfers: number;
}

/** A committed transfer of a window, as listed to the operator (and to `semops reconcile`). */
/** Transfers with fees a report lists (the rest: page through the window's transfers). */
export const MAX_REPORT_FEES = 1_000;
/** Most transfers one page of a window's transfers holds. */
export const MAX_TRANSFERS_PAGE = 10_000;

export interface WindowTransferView {
  readonly transferId: string;
  readonly payer: string;
  readonly payee: string;
  readonly amount: { readonly value: string; readonly currency: string };
  readonly fees?: TransferFees;
  readonly committedAt: number;
}

export interface CloseOptions {
  /** Close this window only (must be the OPEN one; an already CLOSED one answers its report). */
  readonly windowId?: string;
}

export interface SettlementService {
  /** Opens a window when none is open (the first start after the upgrade opened one already). */
  start(): Promise<void>;
  /**
   * Closes the OPEN window and opens the next; answers the closed window's report. WINDOW_EMPTY when the
   * window has no transfers (nothing changes), WINDOW_NOT_FOUND for an unknown `windowId`.
   */
  closeWindow(opts?: CloseOptions): Promise<WindowReport>;
  /** Newest first. */
  list(limit?: number): Promise<WindowView[]>;
  /** The report of a window: final when CLOSED, so far when OPEN. */
  report(windowId: string): Promise<WindowReport>;
  /**
   * A page of a window's committed transfers in id order (at most `limit`, default and most 10,000), after
   * `after`; `next` is the `after` of the following page, absent on the last.
   */
  transfers(
    windowId: string,
    page?: { readonly after?: string; readonly limit?: number },
  ): Promise<{ transfers: WindowTransferView[]; next?: string }>;
  /** Books what is left to book and sends the notices that are due. */
  sweep(): Promise<void>;
  /**
   * Stops the schedule and the sweep (at once, before its first await) and waits for the notices on the wire;
   * close the client after calling it to cut those short.
   */
  stop(): Promise<void>;
}

export interface SettlementServiceDeps {
  readonly store: SettlementStore;
  readonly writer: Writer;
  readonly ledger: Ledger;
  readonly positions: PositionService;
  readonly participants: ParticipantService;
  readonly client: NodeClient;
  /** Makes the ledger follow these committed transfers (post and interchange) where it has not yet. */
  readonly followLedger: (transferIds: readonly string[]) => Promise<boolean>;
  readonly log: FastifyBaseLogger;
  readonly now: () => number;
  /** Close the OPEN window at every multiple of this many ms (epoch-aligned) when it has transfers. */
  readonly intervalMs?: number;
  /**
   * First retry of a notice, or of a booking that failed or waits for the ledger (default 1 s), doubling up
   * to `maxRetryMs` (5 min).
   */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /** Longest wait for a processor's answer to a notice (default 5 s). */
  readonly timeoutMs?: number;
  /** Where the scheduled closes are recorded (an operator's close is recorded as the call it is). */
  readonly audit?: Pick<AuditLog, 'append'>;
}

const key = (p: { windowId: string; processorId: string; currency?: string }): string =>
  `${p.windowId} ${p.processorId} ${p.currency ?? ''}`;

export { closeOpenWindow, type CloseOutcome } from './close.js';

export function createSettlementService(deps: SettlementServiceDeps): SettlementService {
  const { store, writer, ledger, log, now } = deps;
  const retryMs = deps.retryMs ?? 1_000;
  const maxRetryMs = deps.maxRetryMs ?? 300_000;
  const timeoutMs = deps.timeoutMs ?? 5_000;
  const backoff = (attempts: number): number => Math.min(retryMs * 2 ** Math.min(attempts, 30), maxRetryMs);
  /** Bookings that failed or wait for the ledger to follow their window: when to try again, how often tried. */
  const bookingRetry = new Map<string, { at: number; attempts: number }>();
  /** Notices on the wire. */
  const sending = new Map<string, Promise<void>>();
  let stopped = false;
  let scheduleTimer: NodeJS.Timeout | undefined;
  let sweepLoop: Loop | undefined;
  let sweeping: Promise<void> | undefined;
  let booking: Promise<void> | undefined;

  const windowOrThrow = async (windowId: string): Promise<WindowRecord> => {
    const w = await store.get(windowId);
    if (!w) throw new SemopsError('WINDOW_NOT_FOUND', `No settlement window ${windowId.slice(0, 40)}.`);
    return w;
  };

  /**
   * Settling a window turns each processor's position into liquidity: a payer's net is paid out of its
   * prefunded liquidity (stl → liq, liquidity down by the net), a receiver's net is paid into its liquidity
   * (liq → stl, up by the net). Positions go back to zero; `available` does not change — settling never frees
   * sending capacity, a payer restores it only by depositing real money (`POST /v1/admin/liquidity`), and a
   * receiver may withdraw what it received. The `stl` accounts of a window sum to zero per currency.
   */
  const command = (p: StoredPosition): LedgerCommand => {
    const stl = settlementAccountId(p.processorId, p.currency);
    const liq = liquidityAccountId(p.processorId, p.currency);
    const paysIn = p.net < 0n;
    return {
      kind: 'transfer',
      id: `${p.windowId}:${p.processorId}:${p.currency}`,
      debitAccountId: paysIn ? stl : liq,
      creditAccountId: paysIn ? liq : stl,
      amount: paysIn ? -p.net : p.net,
      currency: p.currency,
      code: 'settlement',
      reference: p.windowId,
    };
  };

  /** A line not booked this time: try again after the back-off. */
  const later = (p: StoredPosition, at: number): number => {
    const prev = bookingRetry.get(key(p))?.attempts ?? 0;
    bookingRetry.set(key(p), { at: at + backoff(prev), attempts: prev + 1 });
    return backoff(prev);
  };

  /** Whether the ledger holds every transfer of the window (making it follow those it does not yet). */
  const ledgerFollows = async (windowId: string): Promise<{ ok: boolean; behind: number }> => {
    const behind = await store.ledgerBehind(windowId);
    if (behind.length === 0) return { ok: true, behind: 0 };
    const ok = await deps.followLedger(behind).catch((err: unknown) => {
      log.error({ err, windowId }, 'the ledger could not follow the transfers of a closed window');
      return false;
    });
    return { ok, behind: behind.length };
  };

  /** Books the settlement lines still to book (of one window, or of all), in the hub's ledger. */
  const bookNow = async (windowId?: string): Promise<void> => {
    const at = now();
    const due = (
      windowId === undefined
        ? await store.unbooked(1000)
        : (await store.positions(windowId)).filter((p) => p.bookedAt === undefined)
    ).filter((p) => windowId !== undefined || (bookingRetry.get(key(p))?.at ?? 0) <= at);
    if (due.length === 0) return;
    // Only windows whose transfers are all in the positions (normally they are; after a crash, or while the
    // ledger refuses a post, maybe not: then the window waits).
    const ready = new Set<string>();
    for (const w of new Set(due.map((p) => p.windowId))) {
      const { ok, behind } = await ledgerFollows(w);
      if (ok) {
        ready.add(w);
        continue;
      }
      const waiting = due.filter((p) => p.windowId === w);
      const retryInMs = Math.min(...waiting.map((p) => later(p, at)));
      log.warn(
        { windowId: w, behind, retryInMs },
        'settlement booking waits: the ledger has not followed every transfer of the window',
      );
    }
    const todo = due.filter((p) => ready.has(p.windowId));
    if (todo.length === 0) return;
    const results = await ledger.execute(todo.map(command));
    const booked: StoredPosition[] = [];
    const missing = new Map<string, Set<string>>();
    results.forEach((res, i) => {
      const p = todo[i]!;
      if (res.ok) {
        booked.push(p);
        bookingRetry.delete(key(p));
        return;
      }
      const retryInMs = later(p, at);
      if (res.code === 'ACCOUNT_NOT_FOUND') {
        missing.set(p.processorId, (missing.get(p.processorId) ?? new Set()).add(p.currency));
      }
      log.error(
        { windowId: p.windowId, processorId: p.processorId, currency: p.currency, code: res.code, retryInMs },
        'settlement booking failed',
      );
    });
    for (const [pid, currencies] of missing) await deps.positions.openAccounts(pid, [...currencies]);
    if (booked.length > 0) await writer.write((tx) => store.markBooked(tx, booked, now()));
  };

  /** One booking run at a time (a close and the sweep may both ask). */
  const book = async (windowId?: string): Promise<void> => {
    while (booking) await booking.catch(() => undefined);
    booking = bookNow(windowId).finally(() => (booking = undefined));
    await booking;
  };

  const noticeBody = async (windowId: string, processorId: string): Promise<SettlementNotice> => {
    const w = await windowOrThrow(windowId);
    const lines = (await store.positions(windowId)).filter(
      (p) => p.processorId === processorId && p.transfers > 0,
    );
    return {
      windowId,
      openedAt: w.openedAt,
      closedAt: w.closedAt ?? now(),
      positions: lines.map((l) => ({ currency: l.currency, net: l.net.toString() })),
    };
  };

  const deliver = async (windowId: string, processorId: string, attempts: number): Promise<void> => {
    try {
      const p = deps.participants.get(processorId);
      if (!p) throw new SemopsError('PARTICIPANT_NOT_FOUND', `No participant ${processorId}.`);
      const body = await noticeBody(windowId, processorId);
      const answer = await deps.client.send(
        PROCESSOR_MESSAGES,
        p.baseUrl,
        processorId,
        'settlement.notice',
        body,
        {
          timeoutMs,
        },
      );
      if (!answer.booked) {
        throw new SemopsError('MESSAGE_MALFORMED', `${processorId} did not book settlement.notice.`);
      }
      await writer.write((tx) => store.delivered(tx, windowId, processorId, now()));
    } catch (e) {
      // Any failure (unreachable, an error answer such as UNKNOWN_MESSAGE_TYPE from a processor that does not
      // handle notices yet, booked: false) means: try again later.
      const code = e instanceof SemopsError ? e.code : 'INTERNAL';
      const retryInMs = backoff(attempts);
      log.warn({ windowId, processorId, code, retryInMs }, 'settlement.notice not delivered');
      if (stopped) return;
      await writer
        .write((tx) => store.failed(tx, windowId, processorId, now() + retryInMs, code))
        .catch((err: unknown) => log.error({ err }, 'recording a notice failure failed'));
    }
  };

  /** Sends the notices that are due, without waiting for the answers. */
  const sendDue = async (): Promise<void> => {
    if (stopped) return;
    for (const n of await store.dueNotices(now(), 100)) {
      const k = key(n);
      if (sending.has(k)) continue;
      const work = deliver(n.windowId, n.processorId, n.attempts).finally(() => sending.delete(k));
      sending.set(k, work);
    }
  };

  const sweepNow = async (): Promise<void> => {
    await book();
    await sendDue();
  };

  const sweep = (): Promise<void> => {
    sweeping ??= sweepNow().finally(() => (sweeping = undefined));
    return sweeping;
  };

  const statusOf = async (
    windowId: string,
    lines: readonly StoredPosition[],
  ): Promise<SettlementStatus[]> => {
    const notices = new Map((await store.notices(windowId)).map((n) => [n.processorId, n]));
    const pids = [...new Set(lines.map((l) => l.processorId))].sort();
    return pids.map((processorId) => {
      const n = notices.get(processorId);
      const unbooked = lines.filter((l) => l.processorId === processorId && l.bookedAt === undefined);
      const bookingAttempts = Math.max(0, ...unbooked.map((l) => bookingRetry.get(key(l))?.attempts ?? 0));
      return {
        processorId,
        booked: unbooked.length === 0,
        ...(bookingAttempts === 0 ? {} : { bookingAttempts }),
        ...(n === undefined
          ? {}
          : {
              noticeDelivered: n.deliveredAt !== undefined,
              noticeAttempts: n.attempts,
              ...(n.lastError === undefined || n.deliveredAt !== undefined ? {} : { lastError: n.lastError }),
            }),
      };
    });
  };

  const report = async (windowId: string): Promise<WindowReport> => {
    const w = await windowOrThrow(windowId);
    const sums = await store.sums(windowId);
    const stored = w.state === 'CLOSED' ? await store.positions(windowId) : undefined;
    const lines: readonly PositionLine[] = stored ?? sums.lines;
    const withFees = await store.transfersPage(windowId, { limit: MAX_REPORT_FEES + 1, onlyFees: true });
    return {
      windowId,
      state: w.state,
      openedAt: w.openedAt,
      ...(w.closedAt === undefined ? {} : { closedAt: w.closedAt }),
      transfers: sums.transfers,
      currencies: currencyTotals(lines, sums.currencies),
      positions: lines.map(toWire),
      instructions: instructions(lines),
      fees: feeLines(withFees.slice(0, MAX_REPORT_FEES)),
      ...(withFees.length > MAX_REPORT_FEES ? { feesTruncated: true as const } : {}),
      ...(stored === undefined ? {} : { settlement: await statusOf(windowId, stored) }),
    };
  };

  const closeInTx = (windowId: string | undefined, openedBefore?: number): Promise<CloseOutcome> =>
    writer.write((tx) =>
      closeOpenWindow(tx, store, {
        now: now(),
        log,
        ...(windowId === undefined ? {} : { windowId }),
        ...(openedBefore === undefined ? {} : { openedBefore }),
      }),
    );

  /** After a close committed: book it now, and send its notices without waiting for the answers. */
  const afterClose = async (windowId: string): Promise<void> => {
    log.info({ windowId }, 'settlement window closed');
    await book(windowId).catch((err: unknown) => log.error({ err, windowId }, 'settlement booking failed'));
    await sendDue().catch((err: unknown) => log.error({ err }, 'sending settlement notices failed'));
  };

  /** The scheduled close at `boundary`: skipped when the window is empty or opened at or after it. */
  const closeOnSchedule = async (boundary: number): Promise<void> => {
    const outcome = await closeInTx(undefined, boundary);
    if (outcome.kind !== 'closed') return;
    await deps.audit?.append({
      actor: 'schedule',
      action: 'settlement.window.close',
      subject: outcome.windowId,
      outcome: 'ok',
    });
    await afterClose(outcome.windowId);
  };

  const schedule = (intervalMs: number): void => {
    if (stopped) return;
    const boundary = (Math.floor(now() / intervalMs) + 1) * intervalMs;
    const wait = (): void => {
      scheduleTimer = setTimeout(fire, Math.max(boundary - now(), 0));
      scheduleTimer.unref();
    };
    // Timers run on a monotonic clock and may fire a millisecond before the wall clock reaches the
    // boundary: never close a window before its boundary.
    const fire = (): void => {
      if (stopped) return;
      if (now() < boundary) return wait();
      scheduleTimer = undefined;
      closeOnSchedule(boundary)
        .catch((err: unknown) => log.error({ err }, 'scheduled settlement close failed'))
        .finally(() => schedule(intervalMs));
    };
    wait();
  };

  return {
    async start() {
      await writer.write((tx) => store.ensureOpen(tx, newId('win'), now()));
      const interval = deps.intervalMs;
      if (interval !== undefined) {
        // A boundary passed while the hub was down: close what was open before it.
        await closeOnSchedule(Math.floor(now() / interval) * interval).catch((err: unknown) =>
          log.error({ err }, 'scheduled settlement close failed'),
        );
        schedule(interval);
      }
      // Books windows into the ledger and (re)sends the notices that are due.
      sweepLoop = startLoop({
        name: 'settlement sweep',
        everyMs: Math.min(Math.max(retryMs, 50), 1_000),
        run: sweep,
        log,
      });
    },

    async closeWindow(opts = {}) {
      const outcome = await closeInTx(opts.windowId);
      switch (outcome.kind) {
        case 'closed':
          await afterClose(outcome.windowId);
          return report(outcome.windowId);
        case 'empty':
        case 'skipped':
          throw new SemopsError(
            'WINDOW_EMPTY',
            `Window ${outcome.windowId} has no committed transfers yet; nothing to close.`,
          );
        case 'not-open': {
          // Closing a window that is already closed answers its report (an operator's retry).
          const w = await windowOrThrow(opts.windowId ?? '');
          return report(w.windowId);
        }
      }
    },

    async list(limit = 100) {
      const windows = await store.list(limit);
      return Promise.all(
        windows.map(async (w): Promise<WindowView> => ({
          windowId: w.windowId,
          state: w.state,
          openedAt: w.openedAt,
          ...(w.closedAt === undefined ? {} : { closedAt: w.closedAt }),
          transfers: w.transfers ?? (await store.countTransfers(w.windowId)),
        })),
      );
    },

    report,

    async transfers(windowId, page = {}) {
      await windowOrThrow(windowId);
      const limit = page.limit ?? MAX_TRANSFERS_PAGE;
      const rows = await store.transfersPage(windowId, {
        limit: limit + 1,
        ...(page.after === undefined ? {} : { after: page.after }),
      });
      const transfers = rows.slice(0, limit).map((t) => ({
        transferId: t.transferId,
        payer: t.payer,
        payee: t.payee,
        amount: { value: t.amount.toString(), currency: t.currency },
        ...(t.hasFees ? { fees: { msc: t.msc.toString(), interchange: t.interchange.toString() } } : {}),
        committedAt: t.committedAt,
      }));
      return rows.length > limit
        ? { transfers, next: transfers[transfers.length - 1]!.transferId }
        : { transfers };
    },

    sweep,

    async stop() {
      stopped = true;
      if (scheduleTimer !== undefined) clearTimeout(scheduleTimer);
      await sweepLoop?.stop();
      await sweeping?.catch(() => undefined);
      await Promise.allSettled([...sending.values()]);
    },
  };
}
