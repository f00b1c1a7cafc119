/**
 * The multilateral net settlement report of a window, as pure functions over its committed transfers.
 *
 * Per currency and processor: `sent` and `received` (transfer amounts as payer and as payee), the interchange
 * it paid (as payee) and received (as payer), the merchant service charge it charged as payee (information:
 * it is kept in the processor's own books; the interchange is paid out of it), the FX margin it kept and the
 * conversion fee it charged as a converting payer (information, in the currency of its customers: they never
 * cross the hub), the number of transfers it took part in, and
 * `net = received − sent + interchangeReceived − interchangePaid` (positive: receives; negative: pays).
 * The nets of each currency sum to zero; the instructions say who pays whom.
 */
import type { PositionLine, WindowTransfer } from './store.js';

export interface PositionLineWire {
  readonly currency: string;
  readonly processorId: string;
  readonly sent: string;
  readonly received: string;
  readonly interchangePaid: string;
  readonly interchangeReceived: string;
  readonly msc: string;
  readonly fxMargin: string;
  /** Conversion fees charged as a converting payer (information, in its customers' currency). */
  readonly fxFee: string;
  readonly transfers: number;
  readonly net: string;
}

export interface CurrencyTotal {
  readonly currency: string;
  /** Transfers in this currency. */
  readonly transfers: number;
  /** Sum of their amounts. */
  readonly volume: string;
  /** Sum of the interchange paid in this currency. */
  readonly interchange: string;
  /** Sum of the nets: always "0". */
  readonly net: string;
}

/** A net money movement of the settlement: `from` pays `to` `amount` minor units of `currency`. */
export interface Instruction {
  readonly currency: string;
  readonly from: string;
  readonly to: string;
  readonly amount: string;
}

/** The fees of one transfer of the window. */
export interface FeeLine {
  readonly transferId: string;
  readonly payer: string;
  readonly payee: string;
  readonly amount: { readonly value: string; readonly currency: string };
  readonly msc: string;
  readonly interchange: string;
  readonly fxMargin?: { readonly value: string; readonly currency: string };
  /** The converting payer's conversion fee, in its customers' currency (when it reported one). */
  readonly fxFee?: { readonly value: string; readonly currency: string };
}

/** Where each processor's settlement stands: booked in the hub's ledger, notice acknowledged. */
export interface SettlementStatus {
  readonly processorId: string;
  readonly booked: boolean;
  /**
   * Not yet booked: how often booking its lines was tried and put off (the ledger had not followed every
   * transfer of the window, or refused the booking) since the hub started; absent before the first try.
   */
  readonly bookingAttempts?: number;
  /** Undefined when the processor gets no notice (no transfers in the window). */
  readonly noticeDelivered?: boolean;
  readonly noticeAttempts?: number;
  readonly lastError?: string;
}

export interface WindowReport {
  readonly windowId: string;
  readonly state: 'OPEN' | 'CLOSED';
  readonly openedAt: number;
  readonly closedAt?: number;
  readonly transfers: number;
  readonly currencies: CurrencyTotal[];
  readonly positions: PositionLineWire[];
  readonly instructions: Instruction[];
  /** The transfers with fees, in id order: the first `MAX_REPORT_FEES` of them. */
  readonly fees: FeeLine[];
  /** Present when the window has more transfers with fees than the report lists. */
  readonly feesTruncated?: true;
  /** CLOSED windows only. */
  readonly settlement?: SettlementStatus[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Report lines being summed: `line` gives the (zero at first) line of a processor in a currency, `done` the
 * lines with their nets, ordered by currency then processor.
 */
export function lineBook() {
  const lines = new Map<string, Mutable<PositionLine>>();
  return {
    line: (processorId: string, currency: string): Mutable<PositionLine> => {
      const key = `${currency} ${processorId}`;
      let l = lines.get(key);
      if (!l) {
        l = {
          currency,
          processorId,
          sent: 0n,
          received: 0n,
          interchangePaid: 0n,
          interchangeReceived: 0n,
          msc: 0n,
          fxMargin: 0n,
          fxFee: 0n,
          transfers: 0,
          net: 0n,
        };
        lines.set(key, l);
      }
      return l;
    },
    done: (): PositionLine[] => {
      for (const l of lines.values()) l.net = l.received - l.sent + l.interchangeReceived - l.interchangePaid;
      return [...lines.values()].sort((a, b) =>
        a.currency === b.currency ? compare(a.processorId, b.processorId) : compare(a.currency, b.currency),
      );
    },
  };
}

/** Sums a window's transfers into one line per currency and processor, ordered by currency then processor. */
export function aggregate(transfers: readonly WindowTransfer[]): PositionLine[] {
  const { line, done } = lineBook();
  for (const t of transfers) {
    const payer = line(t.payer, t.currency);
    payer.sent += t.amount;
    payer.interchangeReceived += t.interchange;
    payer.transfers += 1;
    const payee = line(t.payee, t.currency);
    payee.received += t.amount;
    payee.interchangePaid += t.interchange;
    payee.msc += t.msc;
    payee.transfers += 1;
    if (t.fxMargin) line(t.payer, t.fxMargin.currency).fxMargin += t.fxMargin.value;
    if (t.fxFee) line(t.payer, t.fxFee.currency).fxFee += t.fxFee.value;
  }
  return done();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Per-currency sums of the nets that are not zero (an empty map when the report balances). */
export function imbalances(lines: readonly PositionLine[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const l of lines) sums.set(l.currency, (sums.get(l.currency) ?? 0n) + l.net);
  for (const [c, v] of sums) if (v === 0n) sums.delete(c);
  return sums;
}

/**
 * Net money movements, per currency: the payers, largest first, pay the receivers, largest first, each
 * movement as large as both allow (at most payers + receivers − 1 movements per currency).
 */
export function instructions(lines: readonly PositionLine[]): Instruction[] {
  const out: Instruction[] = [];
  const byCurrency = new Map<string, PositionLine[]>();
  for (const l of lines) byCurrency.set(l.currency, [...(byCurrency.get(l.currency) ?? []), l]);
  for (const [currency, ls] of [...byCurrency].sort((a, b) => compare(a[0], b[0]))) {
    const larger = (a: { left: bigint; id: string }, b: { left: bigint; id: string }) =>
      a.left === b.left ? compare(a.id, b.id) : a.left > b.left ? -1 : 1;
    const payers = ls
      .filter((l) => l.net < 0n)
      .map((l) => ({ id: l.processorId, left: -l.net }))
      .sort(larger);
    const receivers = ls
      .filter((l) => l.net > 0n)
      .map((l) => ({ id: l.processorId, left: l.net }))
      .sort(larger);
    let i = 0;
    let j = 0;
    while (i < payers.length && j < receivers.length) {
      const p = payers[i]!;
      const r = receivers[j]!;
      const amount = p.left < r.left ? p.left : r.left;
      out.push({ currency, from: p.id, to: r.id, amount: amount.toString() });
      p.left -= amount;
      r.left -= amount;
      if (p.left === 0n) i++;
      if (r.left === 0n) j++;
    }
  }
  return out;
}

export function toWire(l: PositionLine): PositionLineWire {
  return {
    currency: l.currency,
    processorId: l.processorId,
    sent: l.sent.toString(),
    received: l.received.toString(),
    interchangePaid: l.interchangePaid.toString(),
    interchangeReceived: l.interchangeReceived.toString(),
    msc: l.msc.toString(),
    fxMargin: l.fxMargin.toString(),
    fxFee: l.fxFee.toString(),
    transfers: l.transfers,
    net: l.net.toString(),
  };
}

/** Per-currency totals of the transfers (as the database summed them), with the (zero) sum of the nets. */
export function currencyTotals(
  lines: readonly PositionLine[],
  sums: ReadonlyArray<{
    readonly currency: string;
    readonly transfers: number;
    readonly volume: bigint;
    readonly interchange: bigint;
  }>,
): CurrencyTotal[] {
  const nets = new Map<string, bigint>();
  for (const l of lines) nets.set(l.currency, (nets.get(l.currency) ?? 0n) + l.net);
  return [...sums]
    .sort((a, b) => compare(a.currency, b.currency))
    .map((c) => ({
      currency: c.currency,
      transfers: c.transfers,
      volume: c.volume.toString(),
      interchange: c.interchange.toString(),
      net: (nets.get(c.currency) ?? 0n).toString(),
    }));
}

/** The transfers of the window that carry fees, an FX margin or a conversion fee. */
export function feeLines(transfers: readonly WindowTransfer[]): FeeLine[] {
  return transfers
    .filter((t) => t.hasFees || t.fxMargin !== undefined || t.fxFee !== undefined)
    .map((t) => ({
      transferId: t.transferId,
      payer: t.payer,
      payee: t.payee,
      amount: { value: t.amount.toString(), currency: t.currency },
      msc: t.msc.toString(),
      interchange: t.interchange.toString(),
      ...(t.fxMargin === undefined
        ? {}
        : { fxMargin: { value: t.fxMargin.value.toString(), currency: t.fxMargin.currency } }),
      ...(t.fxFee === undefined
        ? {}
        : { fxFee: { value: t.fxFee.value.toString(), currency: t.fxFee.currency } }),
    }));
}

export const CSV_COLUMNS = [
  'windowId',
  'currency',
  'processorId',
  'sent',
  'received',
  'interchangePaid',
  'interchangeReceived',
  'msc',
  'fxMargin',
  'fxFee',
  'transfers',
  'net',
] as const;

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The report as CSV: a header, then one row per currency and processor (amounts in minor units), lines ending
 * in `\n`.
 */
export function toCsv(report: WindowReport): string {
  const rows = report.positions.map((p) =>
    CSV_COLUMNS.map((c) => csvField(c === 'windowId' ? report.windowId : p[c])).join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...rows].join('\n')}\n`;
}
