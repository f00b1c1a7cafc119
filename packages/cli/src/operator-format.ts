/**
 * What the operator commands print for people: plain-text tables with amounts in major units.
 */
import { currencyInfo, formatAmount, formatMoney } from '@semops/protocol';
import {
  reportPositions,
  type FeeEntry,
  type FxSettings,
  type SettlementReport,
  type SettlementWindow,
} from './clients-settlement.js';
import type { ReconcileResult } from './reconcile.js';

export const money = (value: string | bigint, cur: string) =>
  formatMoney({ value: BigInt(value), currency: cur });
export const amount = (value: string | bigint | undefined, cur: string) =>
  formatAmount(BigInt(value ?? '0'), cur);
const iso = (t: number | undefined) =>
  t === undefined ? '—' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const bps = (n: number) => `${n} bps (${formatAmount(BigInt(n), 'EUR')} %)`;

/** A plain-text table; columns listed in `right` are right-aligned (amounts). */
export function table(
  headers: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  right: readonly number[] = [],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function formatFx(pid: string, fx: FxSettings): string {
  const fees = Object.entries(fx.feeFixed ?? {}).filter(([, v]) => v !== '0');
  const lines = [
    `${pid}: spread ${bps(fx.spreadBps)}, fee ${fees.length > 0 ? fees.map(([c, v]) => money(v, c)).join(', ') : 'none'}, quotes valid ${fx.quoteTtlMs} ms`,
  ];
  if (fx.ratesFile)
    lines.push(`  rates file ${fx.ratesFile}${fx.loadedAt ? `, loaded ${iso(fx.loadedAt)}` : ''}`);
  if (fx.rates.length === 0) lines.push('  no rates: this processor converts nothing');
  else
    lines.push(
      table(
        ['  PAIR', 'RATE', 'SOURCE'],
        fx.rates.map((r) => [`  ${r.base}/${r.quote}`, r.rate, r.source ?? '']),
        [1],
      ).trimEnd(),
    );
  return `${lines.join('\n')}\n`;
}

export function formatFees(entries: readonly FeeEntry[]): string {
  if (entries.length === 0) return 'No fee schedule: transfers carry no fees.\n';
  const rows = entries.map((e) => [
    e.payee,
    e.currency,
    bps(e.mscBps),
    e.currency === '*' ? e.mscFixed : amount(e.mscFixed, e.currency),
    bps(e.interchangeBps),
  ]);
  return (
    table(['PAYEE', 'CURRENCY', 'MSC', 'MSC FIXED', 'INTERCHANGE (OF MSC)'], rows, [2, 3, 4]) +
    'The most specific entry wins: payee and currency, then payee, then currency, then * *.\n'
  );
}

export function formatWindows(windows: readonly SettlementWindow[]): string {
  if (windows.length === 0) return 'No settlement windows.\n';
  return table(
    ['WINDOW', 'STATE', 'OPENED', 'CLOSED', 'TRANSFERS'],
    windows.map((w) => [
      w.windowId,
      w.state,
      iso(w.openedAt),
      w.closedAt === undefined ? '' : iso(w.closedAt),
      String(w.transfers),
    ]),
    [4],
  );
}

/** A settlement report for people: positions per currency, who pays whom, the fees. */
export function formatReport(report: SettlementReport): string {
  const out: string[] = [
    `Settlement window ${report.windowId}${report.state ? ` (${report.state})` : ''}: ${iso(report.openedAt)} → ${report.closedAt === undefined ? 'open' : iso(report.closedAt)}` +
      (report.transfers === undefined ? '' : `, ${report.transfers} transfers`),
  ];
  const positions = reportPositions(report);
  for (const cur of [...new Set(positions.map((p) => p.currency))]) {
    const rows = positions.filter((p) => p.currency === cur);
    const sum = rows.reduce((s, p) => s + BigInt(p.net), 0n);
    out.push(
      '',
      table(
        [
          cur,
          'SENT',
          'RECEIVED',
          'IC PAID',
          'IC RECEIVED',
          'MSC (INFO)',
          'FX MARGIN (INFO)',
          'FX FEE (INFO)',
          'TRANSFERS',
          'NET',
        ],
        [
          ...rows.map((p) => [
            p.processorId,
            amount(p.sent, cur),
            amount(p.received, cur),
            amount(p.interchangePaid, cur),
            amount(p.interchangeReceived, cur),
            amount(p.msc, cur),
            amount(p.fxMargin, cur),
            amount(p.fxFee ?? '0', cur),
            String(p.transfers),
            amount(p.net, cur),
          ]),
          ['sum', '', '', '', '', '', '', '', '', amount(sum, cur)],
        ],
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
      ).trimEnd(),
    );
  }
  if (positions.length === 0) out.push('', 'No positions.');
  const instructions = report.instructions;
  out.push('', instructions.length === 0 ? 'Nothing to settle.' : 'Net settlement (who pays whom):');
  for (const i of instructions) out.push(`  ${i.from} pays ${money(i.amount, i.currency)} to ${i.to}`);
  const fees = report.fees;
  if (fees.length > 0) {
    out.push(
      '',
      table(
        ['FEES: TRANSFER', 'PAYER', 'PAYEE', 'AMOUNT', 'MSC', 'INTERCHANGE', 'FX MARGIN', 'FX FEE'],
        fees.map((f) => [
          f.transferId,
          f.payer,
          f.payee,
          money(f.amount.value, f.amount.currency),
          amount(f.msc, f.amount.currency),
          amount(f.interchange, f.amount.currency),
          f.fxMargin ? money(f.fxMargin.value, f.fxMargin.currency) : '',
          f.fxFee ? money(f.fxFee.value, f.fxFee.currency) : '',
        ]),
        [3, 4, 5, 6, 7],
      ).trimEnd(),
    );
  }
  const status = report.settlement ?? [];
  if (status.length > 0) {
    out.push('', 'Settlement bookings:');
    for (const s of status) {
      const notice =
        s.noticeDelivered === undefined
          ? 'no notice (no transfers)'
          : s.noticeDelivered
            ? 'notice delivered'
            : `notice not yet delivered (${s.noticeAttempts ?? 0} attempts${s.lastError ? `, last error: ${s.lastError}` : ''})`;
      const booked = s.booked
        ? 'booked at the hub'
        : `NOT booked at the hub${s.bookingAttempts ? ` (put off ${s.bookingAttempts} times)` : ''}`;
      out.push(`  ${s.processorId}: ${booked}, ${notice}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Reconciliation for people: one line per difference, amounts in major units. */
export function formatReconcile(r: ReconcileResult): string {
  const head = `Window ${r.windowId} (${iso(r.openedAt)} → ${iso(r.closedAt)}): ${r.checked.transfers} transfers, ${r.checked.processors} processors checked`;
  if (r.differences.length === 0)
    return `${head}\nNo differences: the hub and every processor's books agree.\n`;
  const shown = (v: string | undefined, cur: string | undefined) =>
    v !== undefined && cur !== undefined && currencyInfo(cur) && /^-?\d+$/.test(v)
      ? amount(v, cur)
      : (v ?? '');
  return (
    `${head}\n` +
    table(
      ['PROCESSOR', 'KIND', 'TRANSFER', 'CURRENCY', 'EXPECTED', 'ACTUAL', 'MESSAGE'],
      r.differences.map((d) => [
        d.processorId,
        d.kind,
        d.transferId ?? '',
        d.currency ?? '',
        shown(d.expected, d.currency),
        shown(d.actual, d.currency),
        d.message,
      ]),
      [4, 5],
    ) +
    `${r.differences.length} difference${r.differences.length === 1 ? '' : 's'}.\n`
  );
}

/** A node's signing keys as `GET /v1/admin/keys` (and the rotate and retire commands) answer. */
export interface KeysView {
  readonly node: string;
  readonly current: string;
  readonly next: string;
  readonly keys: readonly { kid: string; since: number; until?: number }[];
  readonly previousUntil?: number;
  readonly retired?: string;
}

const when = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** `semops keys`: each node's current key, next key and earlier keys with their validity. */
export function formatKeys(v: KeysView): string {
  const now = Date.now();
  const lines = [`${v.node}`];
  if (v.retired) lines.push(`  retired  ${v.retired} (refused from now on)`);
  else if (v.previousUntil !== undefined) {
    lines.push(`  rotated: the replaced key is accepted until ${when(v.previousUntil)}`);
  }
  for (const [i, k] of v.keys.entries()) {
    const state = i === 0 ? 'current ' : k.until !== undefined && k.until <= now ? 'retired ' : 'overlap ';
    const validity =
      i === 0
        ? k.since > 0
          ? `since ${when(k.since)}`
          : 'first key'
        : k.until !== undefined && k.until <= now
          ? `retired ${when(k.until)}`
          : `accepted until ${k.until === undefined ? '?' : when(k.until)}`;
    lines.push(`  ${state} ${k.kid}  ${validity}`);
  }
  lines.push(`  next     ${v.next}`);
  return `${lines.join('\n')}\n`;
}
