/**
 * Settlement windows, their reports and the `settlement.notice` deliveries, in the hub's tables.
 *
 * ## Why a transfer never lands in a window whose report is already made
 *
 * A transfer gets its window in the same UPDATE that makes it COMMITTED (transfers/store.ts), with the id of
 * the OPEN window read by `windowForCommit` in that same transaction. Closing a window reads the OPEN window
 * with `lockOpenWindow`, and only then counts and sums the window's transfers, in one transaction.
 *
 * - PostgreSQL (READ COMMITTED, several hub instances possible): the commit reads the window row `FOR SHARE`,
 *   the close `FOR UPDATE`; the two locks conflict, so the close waits until every transaction that assigned
 *   the window has committed, and a commit that comes later waits until the close has committed. In the first
 *   case the close's following statements (each with a fresh snapshot, taken after the lock) see those
 *   transfers; in the second the commit's locking read re-checks the row after the wait, finds it CLOSED and
 *   returns nothing, and `windowForCommit` reads again with a fresh snapshot, which shows the next OPEN window
 *   (inserted by the close in the same transaction). Shared locks do not conflict with each other, so
 *   commits never wait for one another here. A commit and a close in one transaction (one writer group) see
 *   each other's writes in order.
 * - SQLite: one connection serves the hub and every write transaction runs alone on it (Kysely's connection
 *   lock; the writer), so a commit's read-and-update and a close's read-count-sum-close never interleave.
 *
 * Either way the report of a closed window covers exactly the transfers whose window_id is that window, and
 * that set never changes again.
 */
import { sql } from 'kysely';
import { SemopsError } from '@semops/protocol';
import { chunks, engineOf, millis, type HubDb, type WindowState } from '../shared/schema.js';
import { lineBook } from './report.js';

export interface WindowRecord {
  readonly windowId: string;
  readonly seq: number;
  readonly state: WindowState;
  readonly openedAt: number;
  readonly closedAt?: number;
  /** Committed transfers, counted when the window closed. */
  readonly transfers?: number;
}

/** One processor's totals in one currency for a window; amounts in minor units. */
export interface PositionLine {
  readonly currency: string;
  readonly processorId: string;
  readonly sent: bigint;
  readonly received: bigint;
  readonly interchangePaid: bigint;
  readonly interchangeReceived: bigint;
  readonly msc: bigint;
  readonly fxMargin: bigint;
  /** The conversion fee it charged as a converting payer (information, in its customers' currency). */
  readonly fxFee: bigint;
  readonly transfers: number;
  readonly net: bigint;
}

export interface StoredPosition extends PositionLine {
  readonly windowId: string;
  readonly bookedAt?: number;
}

/** A committed transfer of a window, as the report reads it. */
export interface WindowTransfer {
  readonly transferId: string;
  readonly payer: string;
  readonly payee: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly msc: bigint;
  readonly interchange: bigint;
  /** The payer's FX margin, in the customer's currency. */
  readonly fxMargin?: { readonly value: bigint; readonly currency: string };
  /** The payer's conversion fee, in the customer's currency (when it reported one). */
  readonly fxFee?: { readonly value: bigint; readonly currency: string };
  readonly hasFees: boolean;
  readonly committedAt: number;
}

export interface NoticeRecord {
  readonly windowId: string;
  readonly processorId: string;
  readonly attempts: number;
  readonly nextAt: number;
  readonly deliveredAt?: number;
  readonly lastError?: string;
}

/** What the database sums of a window (`SettlementStore.sums`). */
export interface WindowSums {
  readonly lines: PositionLine[];
  readonly currencies: ReadonlyArray<{
    readonly currency: string;
    readonly transfers: number;
    readonly volume: bigint;
    readonly interchange: bigint;
  }>;
  readonly transfers: number;
  /** The latest commit time of its transfers; undefined when it has none. */
  readonly lastCommittedAt?: number;
}

/** One side's sums per processor and currency, as `sums` reads them (amounts as exact decimal text). */
interface SideRow {
  processor_id: string;
  currency: string;
  n: number | string;
  amount: string;
  interchange: string;
  msc: string;
  last_at: number | string;
}

/** Money as the `fx` JSON of a transfers row holds it. */
type Money = { readonly value: string; readonly currency: string };

const TRANSFER_COLUMNS = [
  'transfer_id',
  'payer',
  'payee',
  'amount',
  'currency',
  'fee_msc',
  'fee_interchange',
  'fx',
  'updated_at',
] as const;

function toWindowTransfer(r: {
  transfer_id: string;
  payer: string;
  payee: string;
  amount: string;
  currency: string;
  fee_msc: string | null;
  fee_interchange: string | null;
  fx: string | null;
  updated_at: number | string;
}): WindowTransfer {
  const fx = r.fx === null ? undefined : (JSON.parse(r.fx) as Partial<Record<'margin' | 'fee', Money>>);
  return {
    transferId: r.transfer_id,
    payer: r.payer,
    payee: r.payee,
    amount: BigInt(r.amount),
    currency: r.currency,
    msc: BigInt(r.fee_msc ?? '0'),
    interchange: BigInt(r.fee_interchange ?? '0'),
    hasFees: r.fee_msc !== null && r.fee_interchange !== null,
    ...(fx?.margin === undefined
      ? {}
      : { fxMargin: { value: BigInt(fx.margin.value), currency: fx.margin.currency } }),
    ...(fx?.fee === undefined ? {} : { fxFee: { value: BigInt(fx.fee.value), currency: fx.fee.currency } }),
    committedAt: millis(r.updated_at),
  };
}

/** How many times `windowForCommit` reads again after a close moved the OPEN window under it. */
const WINDOW_READS = 10;

const toWindow = (r: {
  window_id: string;
  seq: number | string;
  state: WindowState;
  opened_at: number | string;
  closed_at: number | string | null;
  transfers: number | string | null;
}): WindowRecord => ({
  windowId: r.window_id,
  seq: Number(r.seq),
  state: r.state,
  openedAt: millis(r.opened_at),
  ...(r.closed_at === null ? {} : { closedAt: millis(r.closed_at) }),
  ...(r.transfers === null ? {} : { transfers: Number(r.transfers) }),
});

/**
 * The OPEN window, read in `tx` under a lock that holds off its close until `tx` ends (see the top of this
 * file). Call it in the transaction that commits transfers, before their UPDATE.
 */
export async function windowForCommit(tx: HubDb): Promise<{ windowId: string; openedAt: number }> {
  const postgres = engineOf(tx) === 'postgres';
  for (let i = 0; i < WINDOW_READS; i++) {
    let q = tx
      .selectFrom('settlement_windows')
      .select(['window_id', 'opened_at'])
      .where('state', '=', 'OPEN');
    if (postgres) q = q.forShare();
    const row = await q.executeTakeFirst();
    if (row) return { windowId: row.window_id, openedAt: millis(row.opened_at) };
  }
  throw new SemopsError('INTERNAL', 'No open settlement window to commit the transfer in.');
}

export interface SettlementStore {
  /** The OPEN window (no lock). */
  openWindow(tx?: HubDb): Promise<WindowRecord | undefined>;
  /** The OPEN window, locked for closing until `tx` ends. */
  lockOpenWindow(tx: HubDb): Promise<WindowRecord | undefined>;
  /** Opens a window when none is open (idempotent, also across hub instances); the OPEN window. */
  ensureOpen(tx: HubDb, windowId: string, now: number): Promise<WindowRecord>;
  get(windowId: string): Promise<WindowRecord | undefined>;
  /** Newest first. */
  list(limit: number): Promise<WindowRecord[]>;
  countTransfers(windowId: string, tx?: HubDb): Promise<number>;
  /**
   * The window's committed transfers summed by the database (never loaded one by one): report lines, totals
   * per currency, their count and the last commit time.
   */
  sums(windowId: string, tx?: HubDb): Promise<WindowSums>;
  /**
   * A page of the window's committed transfers in id order, after `after` (exclusive); `onlyFees` keeps those
   * that carry fees, an FX margin or a conversion fee.
   */
  transfersPage(
    windowId: string,
    page: { readonly after?: string; readonly limit: number; readonly onlyFees?: boolean },
  ): Promise<WindowTransfer[]>;
  /** The committed transfers of a window, in commit order. */
  transfers(windowId: string, tx?: HubDb): Promise<WindowTransfer[]>;
  /** CLOSED with its time and count, and the next window OPEN, in `tx`. */
  close(
    tx: HubDb,
    w: WindowRecord,
    closedAt: number,
    transfers: number,
    next: { windowId: string; openedAt: number },
  ): Promise<void>;
  /** Stores a closed window's report lines; lines with net 0 are booked at once (nothing to move). */
  insertPositions(tx: HubDb, windowId: string, lines: readonly PositionLine[], now: number): Promise<void>;
  positions(windowId: string): Promise<StoredPosition[]>;
  /** Lines not yet booked in the hub's ledger, oldest windows first. */
  unbooked(limit: number): Promise<StoredPosition[]>;
  markBooked(
    tx: HubDb,
    keys: ReadonlyArray<{ windowId: string; processorId: string; currency: string }>,
    now: number,
  ): Promise<void>;
  /** Transfers of a window whose ledger post is not yet marked done. */
  ledgerBehind(windowId: string): Promise<string[]>;
  insertNotices(tx: HubDb, windowId: string, processorIds: readonly string[], now: number): Promise<void>;
  notices(windowId: string): Promise<NoticeRecord[]>;
  /** Undelivered notices due by `now` whose processor's lines of that window are all booked. */
  dueNotices(now: number, limit: number): Promise<NoticeRecord[]>;
  delivered(tx: HubDb, windowId: string, processorId: string, now: number): Promise<void>;
  failed(tx: HubDb, windowId: string, processorId: string, nextAt: number, error: string): Promise<void>;
}

const WINDOW_COLUMNS = ['window_id', 'seq', 'state', 'opened_at', 'closed_at', 'transfers'] as const;

export function createSettlementStore(db: HubDb): SettlementStore {
  const openWindow = async (tx: HubDb = db): Promise<WindowRecord | undefined> => {
    const r = await tx
      .selectFrom('settlement_windows')
      .select(WINDOW_COLUMNS)
      .where('state', '=', 'OPEN')
      .executeTakeFirst();
    return r && toWindow(r);
  };

  const toPosition = (r: {
    window_id: string;
    processor_id: string;
    currency: string;
    sent: string;
    received: string;
    interchange_paid: string;
    interchange_received: string;
    msc: string;
    fx_margin: string;
    fx_fee: string;
    transfers: number | string;
    net: string;
    booked_at: number | string | null;
  }): StoredPosition => ({
    windowId: r.window_id,
    processorId: r.processor_id,
    currency: r.currency,
    sent: BigInt(r.sent),
    received: BigInt(r.received),
    interchangePaid: BigInt(r.interchange_paid),
    interchangeReceived: BigInt(r.interchange_received),
    msc: BigInt(r.msc),
    fxMargin: BigInt(r.fx_margin),
    fxFee: BigInt(r.fx_fee),
    transfers: Number(r.transfers),
    net: BigInt(r.net),
    ...(r.booked_at === null ? {} : { bookedAt: millis(r.booked_at) }),
  });

  const toNotice = (r: {
    window_id: string;
    processor_id: string;
    attempts: number | string;
    next_at: number | string;
    delivered_at: number | string | null;
    last_error: string | null;
  }): NoticeRecord => ({
    windowId: r.window_id,
    processorId: r.processor_id,
    attempts: Number(r.attempts),
    nextAt: millis(r.next_at),
    ...(r.delivered_at === null ? {} : { deliveredAt: millis(r.delivered_at) }),
    ...(r.last_error === null ? {} : { lastError: r.last_error }),
  });

  return {
    openWindow,

    async lockOpenWindow(tx) {
      let q = tx.selectFrom('settlement_windows').select(WINDOW_COLUMNS).where('state', '=', 'OPEN');
      if (engineOf(tx) === 'postgres') q = q.forUpdate();
      // After waiting for another close, PostgreSQL finds the row CLOSED and returns nothing; a fresh read
      // then shows the window that close opened.
      for (let i = 0; i < WINDOW_READS; i++) {
        const r = await q.executeTakeFirst();
        if (r) return toWindow(r);
        if (!(await openWindow(tx))) return undefined;
      }
      return undefined;
    },

    async ensureOpen(tx, windowId, now) {
      const open = await openWindow(tx);
      if (open) return open;
      const last = await tx
        .selectFrom('settlement_windows')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      // Another hub instance opening one at the same time wins on the unique indexes; this one then reads it.
      await tx
        .insertInto('settlement_windows')
        .values({ window_id: windowId, seq: Number(last?.seq ?? 0) + 1, state: 'OPEN', opened_at: now })
        .onConflict((oc) => oc.doNothing())
        .execute();
      const after = await openWindow(tx);
      if (!after) throw new Error('no settlement window could be opened');
      return after;
    },

    async get(windowId) {
      const r = await db
        .selectFrom('settlement_windows')
        .select(WINDOW_COLUMNS)
        .where('window_id', '=', windowId)
        .executeTakeFirst();
      return r && toWindow(r);
    },

    async list(limit) {
      const rows = await db
        .selectFrom('settlement_windows')
        .select(WINDOW_COLUMNS)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toWindow);
    },

    async countTransfers(windowId, tx = db) {
      const r = await tx
        .selectFrom('transfers')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('window_id', '=', windowId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    async sums(windowId, tx = db) {
      // Summed as 64-bit integers and read back as text: exact on both engines (amounts have at most 19 digits).
      const side = (party: 'payer' | 'payee') =>
        sql<SideRow>`SELECT ${sql.ref(party)} AS processor_id, currency, COUNT(*) AS n,
            CAST(SUM(CAST(amount AS BIGINT)) AS TEXT) AS amount,
            CAST(SUM(CAST(COALESCE(fee_interchange, '0') AS BIGINT)) AS TEXT) AS interchange,
            CAST(SUM(CAST(COALESCE(fee_msc, '0') AS BIGINT)) AS TEXT) AS msc,
            MAX(updated_at) AS last_at
          FROM transfers WHERE window_id = ${windowId} AND state = 'COMMITTED'
          GROUP BY ${sql.ref(party)}, currency`.execute(tx);
      const [payers, payees] = [(await side('payer')).rows, (await side('payee')).rows];
      // Only conversions carry an FX margin or fee: few rows, summed here.
      const fxRows = await tx
        .selectFrom('transfers')
        .select(['payer', 'fx'])
        .where('window_id', '=', windowId)
        .where('state', '=', 'COMMITTED')
        .where('fx', 'is not', null)
        .execute();
      const { line, done } = lineBook();
      const currencies = new Map<string, { transfers: number; volume: bigint; interchange: bigint }>();
      let transfers = 0;
      let lastAt: number | undefined;
      for (const r of payers) {
        const l = line(r.processor_id, r.currency);
        l.sent += BigInt(r.amount);
        l.interchangeReceived += BigInt(r.interchange);
        l.transfers += Number(r.n);
        const c = currencies.get(r.currency) ?? { transfers: 0, volume: 0n, interchange: 0n };
        c.transfers += Number(r.n);
        c.volume += BigInt(r.amount);
        c.interchange += BigInt(r.interchange);
        currencies.set(r.currency, c);
        transfers += Number(r.n);
        lastAt = Math.max(lastAt ?? 0, millis(r.last_at));
      }
      for (const r of payees) {
        const l = line(r.processor_id, r.currency);
        l.received += BigInt(r.amount);
        l.interchangePaid += BigInt(r.interchange);
        l.msc += BigInt(r.msc);
        l.transfers += Number(r.n);
      }
      for (const r of fxRows) {
        const fx = JSON.parse(r.fx!) as Partial<Record<'margin' | 'fee', Money>>;
        if (fx.margin) line(r.payer, fx.margin.currency).fxMargin += BigInt(fx.margin.value);
        if (fx.fee) line(r.payer, fx.fee.currency).fxFee += BigInt(fx.fee.value);
      }
      return {
        lines: done(),
        currencies: [...currencies]
          .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
          .map(([currency, c]) => ({ currency, ...c })),
        transfers,
        ...(lastAt === undefined ? {} : { lastCommittedAt: lastAt }),
      };
    },

    async transfersPage(windowId, page) {
      let q = db
        .selectFrom('transfers')
        .select(TRANSFER_COLUMNS)
        .where('window_id', '=', windowId)
        .where('state', '=', 'COMMITTED');
      if (page.after !== undefined) q = q.where('transfer_id', '>', page.after);
      if (page.onlyFees) {
        q = q.where((eb) =>
          eb.or([
            eb.and([eb('fee_msc', 'is not', null), eb('fee_interchange', 'is not', null)]),
            eb('fx', 'is not', null),
          ]),
        );
      }
      const rows = await q.orderBy('transfer_id').limit(page.limit).execute();
      return rows.map(toWindowTransfer);
    },

    async transfers(windowId, tx = db) {
      const rows = await tx
        .selectFrom('transfers')
        .select(TRANSFER_COLUMNS)
        .where('window_id', '=', windowId)
        .where('state', '=', 'COMMITTED')
        .orderBy('updated_at')
        .orderBy('transfer_id')
        .execute();
      return rows.map(toWindowTransfer);
    },

    async close(tx, w, closedAt, transfers, next) {
      await tx
        .updateTable('settlement_windows')
        .set({ state: 'CLOSED', closed_at: closedAt, transfers })
        .where('window_id', '=', w.windowId)
        .where('state', '=', 'OPEN')
        .execute();
      await tx
        .insertInto('settlement_windows')
        .values({ window_id: next.windowId, seq: w.seq + 1, state: 'OPEN', opened_at: next.openedAt })
        .execute();
    },

    async insertPositions(tx, windowId, lines, now) {
      for (const part of chunks(lines, 200)) {
        await tx
          .insertInto('settlement_positions')
          .values(
            part.map((l) => ({
              window_id: windowId,
              processor_id: l.processorId,
              currency: l.currency,
              sent: l.sent.toString(),
              received: l.received.toString(),
              interchange_paid: l.interchangePaid.toString(),
              interchange_received: l.interchangeReceived.toString(),
              msc: l.msc.toString(),
              fx_margin: l.fxMargin.toString(),
              fx_fee: l.fxFee.toString(),
              transfers: l.transfers,
              net: l.net.toString(),
              booked_at: l.net === 0n ? now : null,
            })),
          )
          .execute();
      }
    },

    async positions(windowId) {
      const rows = await db
        .selectFrom('settlement_positions')
        .selectAll()
        .where('window_id', '=', windowId)
        .orderBy('currency')
        .orderBy('processor_id')
        .execute();
      return rows.map(toPosition);
    },

    async unbooked(limit) {
      const rows = await db
        .selectFrom('settlement_positions')
        .innerJoin('settlement_windows', 'settlement_windows.window_id', 'settlement_positions.window_id')
        .selectAll('settlement_positions')
        .where(sql<boolean>`booked_at IS NULL`)
        .orderBy('settlement_windows.seq')
        .orderBy('settlement_positions.processor_id')
        .orderBy('settlement_positions.currency')
        .limit(limit)
        .execute();
      return rows.map(toPosition);
    },

    async markBooked(tx, keys, now) {
      for (const k of keys) {
        await tx
          .updateTable('settlement_positions')
          .set({ booked_at: now })
          .where('window_id', '=', k.windowId)
          .where('processor_id', '=', k.processorId)
          .where('currency', '=', k.currency)
          .where('booked_at', 'is', null)
          .execute();
      }
    },

    async ledgerBehind(windowId) {
      const rows = await db
        .selectFrom('transfers')
        .select('transfer_id')
        .where('window_id', '=', windowId)
        .where('ledger_done', '=', 0)
        .execute();
      return rows.map((r) => r.transfer_id);
    },

    async insertNotices(tx, windowId, processorIds, now) {
      for (const part of chunks(processorIds)) {
        await tx
          .insertInto('settlement_notices')
          .values(part.map((pid) => ({ window_id: windowId, processor_id: pid, attempts: 0, next_at: now })))
          .execute();
      }
    },

    async notices(windowId) {
      const rows = await db
        .selectFrom('settlement_notices')
        .selectAll()
        .where('window_id', '=', windowId)
        .orderBy('processor_id')
        .execute();
      return rows.map(toNotice);
    },

    async dueNotices(now, limit) {
      const rows = await db
        .selectFrom('settlement_notices as n')
        .selectAll('n')
        .where(sql<boolean>`delivered_at IS NULL`)
        .where('n.next_at', '<=', now)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('settlement_positions as p')
                .select('p.window_id')
                .whereRef('p.window_id', '=', 'n.window_id')
                .whereRef('p.processor_id', '=', 'n.processor_id')
                .where('p.booked_at', 'is', null),
            ),
          ),
        )
        .orderBy('n.next_at')
        .limit(limit)
        .execute();
      return rows.map(toNotice);
    },

    async delivered(tx, windowId, processorId, now) {
      await tx
        .updateTable('settlement_notices')
        .set((eb) => ({ delivered_at: now, attempts: eb('attempts', '+', 1), last_error: null }))
        .where('window_id', '=', windowId)
        .where('processor_id', '=', processorId)
        .execute();
    },

    async failed(tx, windowId, processorId, nextAt, error) {
      await tx
        .updateTable('settlement_notices')
        .set((eb) => ({ next_at: nextAt, attempts: eb('attempts', '+', 1), last_error: error.slice(0, 300) }))
        .where('window_id', '=', windowId)
        .where('processor_id', '=', processorId)
        .where(sql<boolean>`delivered_at IS NULL`)
        .execute();
    },
  };
}
