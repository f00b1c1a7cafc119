/**
 * Reconciliation of one settlement window (issue 5): the hub's view of the window (its committed transfers
 * and the report's net positions) against every processor's ledger. The hub's side is checked here (the
 * report's positions follow from its transfers and sum to zero per currency); each processor compares the
 * window with its own books (POST /v1/admin/reconcile) and lists what differs. A processor may book a
 * transfer inside the window's time range that the hub committed just after the close: such a
 * `missing_at_hub` difference is dropped when the hub places that transfer in another window.
 */
import { SemopsError, formatMoney } from '@semops/protocol';
import {
  SettlementAdmin,
  FxAdmin,
  reportPositions,
  type HubTransferView,
  type ProcessorDifference,
  type ReportPosition,
  type SettlementWindow,
  type WindowTransfer,
} from './clients-settlement.js';

/** Where a node answers and the operator token for its admin API. */
export interface AdminTarget {
  readonly url: string;
  readonly adminToken: string;
}

export interface ReconcileTargets {
  readonly hub: AdminTarget;
  /** Every processor of the network: a window transfer naming another one is a difference. */
  readonly processors: ReadonlyArray<AdminTarget & { readonly id: string }>;
}

/**
 * One difference. `processorId` is the processor whose books differ, or `'hub'` for the hub's own report.
 * Kinds found here: `report_unbalanced`, `report_mismatch`, `processor_not_checked`, `processor_unreachable`,
 * `processor_mismatch`; every other kind comes from a processor (`missing_at_hub`, …).
 */
export interface Difference extends ProcessorDifference {
  readonly processorId: string;
}

export interface ReconcileResult {
  readonly windowId: string;
  readonly openedAt: number;
  readonly closedAt: number;
  readonly differences: Difference[];
  readonly checked: { readonly transfers: number; readonly processors: number };
}

/** The last window closed, of those listed; WINDOW_NOT_FOUND when none is closed yet. */
export function pickWindow(windows: readonly SettlementWindow[]): SettlementWindow {
  const closed = windows.filter((w) => w.state === 'CLOSED');
  const last = closed.reduce<SettlementWindow | undefined>(
    (a, w) => (a === undefined || (w.closedAt ?? 0) > (a.closedAt ?? 0) ? w : a),
    undefined,
  );
  if (!last) {
    throw new SemopsError(
      'WINDOW_NOT_FOUND',
      "No settlement window has been closed yet; close one with 'semops windows close'.",
    );
  }
  return last;
}

const key = (processorId: string, currency: string) => `${processorId}\u0000${currency}`;

/** Net per processor and currency implied by the transfers: + receives, − pays, interchange the other way. */
export function netFromTransfers(transfers: readonly WindowTransfer[]): Map<string, bigint> {
  const net = new Map<string, bigint>();
  const add = (pid: string, currency: string, v: bigint) =>
    net.set(key(pid, currency), (net.get(key(pid, currency)) ?? 0n) + v);
  for (const t of transfers) {
    const amount = BigInt(t.amount.value);
    const interchange = BigInt(t.fees?.interchange ?? '0');
    add(t.payer, t.amount.currency, interchange - amount);
    add(t.payee, t.amount.currency, amount - interchange);
  }
  return net;
}

/** The hub's side: the report's positions agree with its transfers and sum to zero per currency. */
export function checkHubReport(
  transfers: readonly WindowTransfer[],
  positions: readonly ReportPosition[],
): Difference[] {
  const differences: Difference[] = [];
  const sums = new Map<string, bigint>();
  for (const p of positions) sums.set(p.currency, (sums.get(p.currency) ?? 0n) + BigInt(p.net));
  for (const [currency, sum] of sums) {
    if (sum !== 0n) {
      differences.push({
        processorId: 'hub',
        kind: 'report_unbalanced',
        currency,
        expected: '0',
        actual: sum.toString(),
        message: `the report's ${currency} positions sum to ${formatMoney({ value: sum, currency })}, not zero`,
      });
    }
  }
  const expected = netFromTransfers(transfers);
  const reported = new Map(positions.map((p) => [key(p.processorId, p.currency), BigInt(p.net)]));
  for (const k of new Set([...expected.keys(), ...reported.keys()])) {
    const e = expected.get(k) ?? 0n;
    const a = reported.get(k) ?? 0n;
    if (e === a) continue;
    const [processorId = '', currency = ''] = k.split('\u0000');
    differences.push({
      processorId: 'hub',
      kind: 'report_mismatch',
      currency,
      expected: e.toString(),
      actual: a.toString(),
      message: `the report's ${currency} net for ${processorId} is ${formatMoney({ value: a, currency })}; the window's transfers add up to ${formatMoney({ value: e, currency })}`,
    });
  }
  return differences;
}

function describe(e: unknown): string {
  if (e instanceof SemopsError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Reconciles a settlement window (default: the last closed one) between the hub and every processor.
 * @example
 *   const r = await reconcileWindow({ hub: { url, adminToken }, processors: [{ id: 'bank-a', url, adminToken }] });
 *   if (r.differences.length > 0) console.log(r.differences);
 * Throws WINDOW_NOT_FOUND (no such window, or none closed yet) or VALIDATION_FAILED (the window is still
 * open); a processor that cannot be asked becomes a `processor_unreachable` difference.
 */
export async function reconcileWindow(
  targets: ReconcileTargets,
  windowId?: string,
): Promise<ReconcileResult> {
  const hub = new SettlementAdmin(targets.hub.url, targets.hub.adminToken);
  const id = windowId ?? pickWindow(await hub.windows()).windowId;
  const [report, transfers] = await Promise.all([hub.report(id), hub.windowTransfers(id)]);
  if (report.state !== 'CLOSED' || report.closedAt === undefined) {
    throw new SemopsError(
      'VALIDATION_FAILED',
      `Settlement window ${id} is still open; close it first with 'semops windows close'.`,
    );
  }
  const window = { windowId: id, openedAt: report.openedAt, closedAt: report.closedAt };
  const positions = reportPositions(report);
  const differences: Difference[] = checkHubReport(transfers, positions);

  const known = new Set(targets.processors.map((p) => p.id));
  const unchecked = new Set(transfers.flatMap((t) => [t.payer, t.payee]).filter((pid) => !known.has(pid)));
  for (const pid of [...unchecked].sort()) {
    differences.push({
      processorId: pid,
      kind: 'processor_not_checked',
      message: `${pid} has transfers in the window but was not asked to reconcile`,
    });
  }

  const answers = await Promise.all(
    targets.processors.map(async (p): Promise<Difference[]> => {
      const admin = new FxAdmin(p.url, p.adminToken);
      try {
        const answer = await admin.reconcile({
          window,
          // Each processor sees only the transfers it took part in.
          transfers: transfers.filter((t) => t.payer === p.id || t.payee === p.id),
          positions: positions
            .filter((x) => x.processorId === p.id)
            .map((x) => ({ currency: x.currency, net: x.net })),
        });
        const own: Difference[] = answer.differences.map((d) => ({ ...d, processorId: p.id }));
        if (answer.processorId !== p.id) {
          own.unshift({
            processorId: p.id,
            kind: 'processor_mismatch',
            expected: p.id,
            actual: String(answer.processorId),
            message: `${p.url} answered as ${answer.processorId}, not ${p.id}`,
          });
        }
        return own;
      } catch (e) {
        return [
          {
            processorId: p.id,
            kind: 'processor_unreachable',
            message: `could not reconcile with ${p.id} at ${p.url}: ${describe(e)}`,
          },
        ];
      }
    }),
  );

  // A transfer a processor booked in the window's time range but the hub committed in another window is
  // not a difference: it is reconciled with that window. A transfer the hub does not know (or cannot show
  // now) stays a difference.
  const found = answers.flat();
  const ids = [
    ...new Set(found.filter((d) => d.kind === 'missing_at_hub').flatMap((d) => d.transferId ?? [])),
  ];
  const hubWindow = new Map(
    await Promise.all(
      ids.map(async (transferId) => {
        const t = await hub.transfer(transferId).catch((): HubTransferView | undefined => undefined);
        return [transferId, t?.windowId] as const;
      }),
    ),
  );
  for (const d of found) {
    const elsewhere = d.transferId === undefined ? undefined : hubWindow.get(d.transferId);
    if (d.kind === 'missing_at_hub' && elsewhere !== undefined && elsewhere !== id) continue;
    differences.push(d);
  }
  return {
    windowId: id,
    openedAt: window.openedAt,
    closedAt: window.closedAt,
    differences,
    checked: { transfers: transfers.length, processors: targets.processors.length },
  };
}
