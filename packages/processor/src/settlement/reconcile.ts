/**
 * Reconciliation of one settlement window (issue 5): compares the hub's view of the window — its committed
 * transfers and this processor's net positions — with this processor's records and ledger, and lists every
 * difference with a message a person can act on. Zero differences means the books agree.
 *
 * Checked for each hub transfer involving this processor:
 * - payer side: the payments row is COMMITTED with the same payee, amount and currency; its ledger transfer
 *   `<id>` is posted (and, when converted, `<id>:fx`, `<id>:fxm`, `<id>:fee`); `<id>:ic` is posted when the
 *   hub paid interchange to this processor;
 * - payee side: the incoming row is COMMITTED with the same payer, amount, currency and fees; `in:<id>` (the
 *   amount less the MSC), `in:<id>:msc` and `in:<id>:ic` are posted (a converted refund: `in:<id>:fx`,
 *   `in:<id>:fxm`).
 * Then this processor's own committed cross-processor transfers whose local commit time lies in
 * [openedAt, closedAt) but which the hub did not list (`missing_at_hub`; a transfer committed at the hub just
 * before the close may commit here just after it, so the caller checks those against the neighbouring
 * windows), and, when positions are given, that they follow from the hub's transfers and equal the booked
 * settlement of the window (`settlements` and the `stl:<windowId>:<CUR>` ledger transfers).
 */
import type { Ledger } from '@semops/ledger';
import type { Sql } from '@semops/node';
import { currencyCode, idPattern, minorUnits, signedMinorUnits, z } from '@semops/protocol';
import { moneyText } from '../notifications/service.js';
import { inIds, type RefundFx } from '../requests/payee-bookings.js';
import { normalizePositions, settlementTransferId, type SettlementService } from './service.js';

const feeUnits = z.string().regex(/^(0|[1-9]\d{0,18})$/, 'minor units, 0 or more, as a string');

/** One committed transfer of the window, as the hub lists it. Unknown fields are ignored. */
export const hubTransfer = z.object({
  transferId: z.string().min(1).max(64),
  payer: z.string().min(1).max(32),
  payee: z.string().min(1).max(32),
  amount: z.object({ value: minorUnits, currency: currencyCode }),
  fees: z.object({ msc: feeUnits, interchange: feeUnits }).optional(),
  committedAt: z.number().int().optional(),
});
export type HubTransfer = z.infer<typeof hubTransfer>;

/** `POST /v1/admin/reconcile` body: the hub's view of one window. */
export const reconcileRequest = z.strictObject({
  window: z.object({
    windowId: z.string().regex(idPattern('win'), 'a window id win_…'),
    openedAt: z.number().int(),
    closedAt: z.number().int(),
  }),
  transfers: z.array(hubTransfer).max(200_000),
  positions: z
    .array(z.strictObject({ currency: currencyCode, net: signedMinorUnits }))
    .max(200)
    .optional(),
});
export type ReconcileRequest = z.infer<typeof reconcileRequest>;

export type DifferenceKind =
  | 'missing_here'
  | 'missing_at_hub'
  | 'state_mismatch'
  | 'counterparty_mismatch'
  | 'amount_mismatch'
  | 'fees_mismatch'
  | 'ledger_missing'
  | 'ledger_mismatch'
  | 'position_mismatch'
  | 'settlement_not_booked'
  | 'settlement_mismatch';

export interface Difference {
  readonly kind: DifferenceKind;
  readonly transferId?: string;
  readonly currency?: string;
  readonly expected?: string;
  readonly actual?: string;
  readonly message: string;
}

export interface ReconcileResult {
  readonly processorId: string;
  readonly windowId: string;
  /** How many of the hub's transfers involve this processor (and were checked). */
  readonly checked: number;
  readonly differences: Difference[];
}

interface PaymentRow {
  id: string;
  payee: string;
  amount: string;
  currency: string;
  state: string;
  updated_at: number;
  fx?: string | null;
  /** The hub's fees as the payer side learnt them (JSON {msc, interchange}), once committed. */
  fees?: string | null;
}

interface IncomingRow {
  id: string;
  payer: string;
  amount: string;
  currency: string;
  state: string;
  msc: string;
  interchange: string;
  refund_fx: string | null;
  updated_at: number;
  committed_at: number | null;
}

export interface ReconcileDeps {
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly settlement: SettlementService;
  readonly processorId: string;
}

const money = (value: bigint | string, currency: string) => moneyText({ value: value.toString(), currency });

/**
 * The payer side's stored conversion legs (`payments.fx`), read leniently: amounts as strings, numbers or
 * money; the customer's currency from `source` (a code or money) or `payerAmount`.
 */
function payerFxLegs(
  json: string | null | undefined,
): { fx: bigint; fxm: bigint; fee: bigint; currency?: string } | null {
  if (!json) return null;
  try {
    const fx = JSON.parse(json) as Record<string, unknown> | null;
    if (!fx) return null;
    const units = (v: unknown): bigint => {
      const x = typeof v === 'object' && v !== null ? (v as { value?: unknown }).value : v;
      return typeof x === 'string' || typeof x === 'number' || typeof x === 'bigint' ? BigInt(x) : 0n;
    };
    const code = (v: unknown): string | undefined => {
      const c = typeof v === 'object' && v !== null ? (v as { currency?: unknown }).currency : v;
      return typeof c === 'string' && /^[A-Z]{3}$/.test(c) ? c : undefined;
    };
    const currency = code(fx.source) ?? code(fx.payerAmount) ?? code(fx.fee);
    return {
      fx: units(fx.positionCredit),
      fxm: units(fx.marginCredit),
      fee: units(fx.fee),
      ...(currency ? { currency } : {}),
    };
  } catch {
    return null;
  }
}

export function createReconciler(deps: ReconcileDeps) {
  const { q, ledger, processorId: me } = deps;

  return {
    async reconcile(req: ReconcileRequest): Promise<ReconcileResult> {
      const { window: w } = req;
      const diffs: Difference[] = [];
      const add = (d: Difference) => diffs.push(d);

      /** A ledger transfer that must exist, be posted and move exactly `amount`. */
      async function expectPosted(
        id: string,
        amount: bigint,
        currency: string,
        transferId: string,
        what: string,
      ) {
        if (amount <= 0n) return;
        const t = await ledger.getTransfer(id);
        if (!t) {
          add({
            kind: 'ledger_missing',
            transferId,
            currency,
            expected: amount.toString(),
            message: `${what}: ledger transfer ${id} of ${money(amount, currency)} is missing.`,
          });
        } else if (t.state !== 'posted' || t.amount !== amount || t.currency !== currency) {
          add({
            kind: 'ledger_mismatch',
            transferId,
            currency,
            expected: `posted ${amount}`,
            actual: `${t.state} ${t.amount}${t.currency === currency ? '' : ` ${t.currency}`}`,
            message: `${what}: ledger transfer ${id} should be posted with ${money(amount, currency)}; it is ${t.state} with ${money(t.amount, t.currency)}.`,
          });
        }
      }

      /** Same row fields as the hub's: state, counterparty, amount; true when the row is committed. */
      function compareRow(
        t: HubTransfer,
        row: { state: string; amount: string; currency: string },
        counterparty: { ours: string; hubs: string; role: 'payee' | 'payer' },
      ): boolean {
        const hubMoney = money(t.amount.value, t.amount.currency);
        if (counterparty.ours !== counterparty.hubs) {
          add({
            kind: 'counterparty_mismatch',
            transferId: t.transferId,
            expected: counterparty.hubs,
            actual: counterparty.ours,
            message: `Transfer ${t.transferId}: the hub has ${counterparty.hubs} as ${counterparty.role}, this processor has ${counterparty.ours}.`,
          });
        }
        if (row.amount !== t.amount.value || row.currency !== t.amount.currency) {
          add({
            kind: 'amount_mismatch',
            transferId: t.transferId,
            currency: t.amount.currency,
            expected: `${t.amount.value} ${t.amount.currency}`,
            actual: `${row.amount} ${row.currency}`,
            message: `Transfer ${t.transferId}: the hub committed ${hubMoney}, this processor recorded ${money(row.amount, row.currency)}.`,
          });
        }
        if (row.state !== 'COMMITTED') {
          add({
            kind: 'state_mismatch',
            transferId: t.transferId,
            expected: 'COMMITTED',
            actual: row.state,
            message: `Transfer ${t.transferId} (${hubMoney}) is committed at the hub but ${row.state} here; the payment sweep settles it, or investigate.`,
          });
          return false;
        }
        return true;
      }

      async function payerSide(t: HubTransfer): Promise<void> {
        const p = await q.one<PaymentRow>`SELECT * FROM payments WHERE id = ${t.transferId}`;
        const cur = t.amount.currency;
        if (!p) {
          add({
            kind: 'missing_here',
            transferId: t.transferId,
            currency: cur,
            expected: t.amount.value,
            message: `Transfer ${t.transferId} (${money(t.amount.value, cur)} from ${me} to ${t.payee}) is committed at the hub but this processor has no such payment.`,
          });
          return;
        }
        if (p.fees) {
          const ours = JSON.parse(p.fees) as { msc?: string; interchange?: string };
          const hub = { msc: t.fees?.msc ?? '0', interchange: t.fees?.interchange ?? '0' };
          if ((ours.msc ?? '0') !== hub.msc || (ours.interchange ?? '0') !== hub.interchange) {
            add({
              kind: 'fees_mismatch',
              transferId: t.transferId,
              currency: cur,
              expected: `msc ${hub.msc}, interchange ${hub.interchange}`,
              actual: `msc ${ours.msc ?? '0'}, interchange ${ours.interchange ?? '0'}`,
              message: `Payment ${t.transferId}: the hub's fees are MSC ${money(hub.msc, cur)} and interchange ${money(hub.interchange, cur)}; this processor recorded MSC ${money(ours.msc ?? '0', cur)} and interchange ${money(ours.interchange ?? '0', cur)}.`,
            });
          }
        }
        if (!compareRow(t, p, { ours: p.payee, hubs: t.payee, role: 'payee' })) return;
        const what = `Payment ${t.transferId}`;
        await expectPosted(t.transferId, BigInt(p.amount), p.currency, t.transferId, what);
        const fx = payerFxLegs(p.fx);
        if (fx) {
          // The conversion legs are in the customer's currency.
          const src =
            fx.currency ??
            (
              await q.one<{ currency: string }>`SELECT c.currency FROM customers c
              JOIN payments p ON p.customer_id = c.id WHERE p.id = ${t.transferId}`
            )?.currency ??
            p.currency;
          for (const [suffix, amount] of [
            ['fx', fx.fx],
            ['fxm', fx.fxm],
            ['fee', fx.fee],
          ] as const) {
            await expectPosted(
              `${t.transferId}:${suffix}`,
              amount,
              src,
              t.transferId,
              `${what} (conversion)`,
            );
          }
        }
        const ic = BigInt(t.fees?.interchange ?? '0');
        await expectPosted(`${t.transferId}:ic`, ic, cur, t.transferId, `${what} (interchange received)`);
      }

      async function payeeSide(t: HubTransfer): Promise<void> {
        const i = await q.one<IncomingRow>`SELECT * FROM incoming WHERE id = ${t.transferId}`;
        const cur = t.amount.currency;
        if (!i) {
          add({
            kind: 'missing_here',
            transferId: t.transferId,
            currency: cur,
            expected: t.amount.value,
            message: `Transfer ${t.transferId} (${money(t.amount.value, cur)} from ${t.payer} to ${me}) is committed at the hub but this processor never accepted it.`,
          });
          return;
        }
        const hubMsc = t.fees?.msc ?? '0';
        const hubIc = t.fees?.interchange ?? '0';
        if (hubMsc !== i.msc || hubIc !== i.interchange) {
          add({
            kind: 'fees_mismatch',
            transferId: t.transferId,
            currency: cur,
            expected: `msc ${hubMsc}, interchange ${hubIc}`,
            actual: `msc ${i.msc}, interchange ${i.interchange}`,
            message: `Transfer ${t.transferId}: the hub's fees are MSC ${money(hubMsc, cur)} and interchange ${money(hubIc, cur)}; this processor booked MSC ${money(i.msc, i.currency)} and interchange ${money(i.interchange, i.currency)}.`,
          });
        }
        if (!compareRow(t, i, { ours: i.payer, hubs: t.payer, role: 'payer' })) return;
        const ids = inIds(t.transferId);
        const what = `Incoming ${t.transferId}`;
        const msc = BigInt(i.msc);
        await expectPosted(ids.credit, BigInt(i.amount) - msc, i.currency, t.transferId, what);
        await expectPosted(ids.msc, msc, i.currency, t.transferId, `${what} (MSC)`);
        await expectPosted(
          ids.ic,
          BigInt(i.interchange),
          i.currency,
          t.transferId,
          `${what} (interchange paid)`,
        );
        if (i.refund_fx) {
          const r = JSON.parse(i.refund_fx) as RefundFx;
          const m = BigInt(r.marginReversal);
          await expectPosted(
            ids.fx,
            BigInt(r.fxReversal),
            r.payerCurrency,
            t.transferId,
            `${what} (FX reversal)`,
          );
          await expectPosted(
            ids.fxm,
            m < 0n ? -m : m,
            r.payerCurrency,
            t.transferId,
            `${what} (FX margin reversal)`,
          );
        }
      }

      const involved = req.transfers.filter((t) => t.payer === me || t.payee === me);
      for (const t of involved) {
        if (t.payer === me) await payerSide(t);
        if (t.payee === me) await payeeSide(t);
      }

      // Committed here, inside the window, but not in the hub's list.
      const listed = new Set(involved.map((t) => t.transferId));
      const payments =
        await q.all<PaymentRow>`SELECT id, payee, amount, currency, state, updated_at FROM payments
        WHERE state = 'COMMITTED' AND payee <> ${me} AND updated_at >= ${w.openedAt} AND updated_at < ${w.closedAt}`;
      for (const p of payments) {
        if (listed.has(p.id)) continue;
        add({
          kind: 'missing_at_hub',
          transferId: p.id,
          currency: p.currency,
          actual: p.amount,
          message: `Payment ${p.id} (${money(p.amount, p.currency)} to ${p.payee}) committed here at ${new Date(Number(p.updated_at)).toISOString()} but is not in the hub's window ${w.windowId}; check the neighbouring windows.`,
        });
      }
      const incoming = await q.all<IncomingRow>`SELECT id, payer, amount, currency, state, msc, interchange,
          refund_fx, updated_at, committed_at FROM incoming
        WHERE state = 'COMMITTED' AND payer <> ${me} AND COALESCE(committed_at, updated_at) >= ${w.openedAt}
          AND COALESCE(committed_at, updated_at) < ${w.closedAt}`;
      for (const i of incoming) {
        if (listed.has(i.id)) continue;
        const at = Number(i.committed_at ?? i.updated_at);
        add({
          kind: 'missing_at_hub',
          transferId: i.id,
          currency: i.currency,
          actual: i.amount,
          message: `Incoming ${i.id} (${money(i.amount, i.currency)} from ${i.payer}) committed here at ${new Date(at).toISOString()} but is not in the hub's window ${w.windowId}; check the neighbouring windows.`,
        });
      }

      if (req.positions) await checkPositions(req, involved, add);
      return { processorId: me, windowId: w.windowId, checked: involved.length, differences: diffs };
    },
  };

  /**
   * The given positions must follow from the hub's own transfers (received − sent + interchange received −
   * interchange paid) and equal what this processor booked for the window.
   */
  async function checkPositions(
    req: ReconcileRequest,
    involved: readonly HubTransfer[],
    add: (d: Difference) => void,
  ): Promise<void> {
    const w = req.window;
    const given = normalizePositions(req.positions ?? []);
    const fromTransfers = new Map<string, bigint>();
    const plus = (cur: string, v: bigint) => fromTransfers.set(cur, (fromTransfers.get(cur) ?? 0n) + v);
    for (const t of involved) {
      const a = BigInt(t.amount.value);
      const ic = BigInt(t.fees?.interchange ?? '0');
      if (t.payer === me) plus(t.amount.currency, -a + ic);
      if (t.payee === me) plus(t.amount.currency, a - ic);
    }
    const givenMap = new Map(given.map((p) => [p.currency, BigInt(p.net)]));
    for (const cur of new Set([...givenMap.keys(), ...fromTransfers.keys()])) {
      const g = givenMap.get(cur) ?? 0n;
      const f = fromTransfers.get(cur) ?? 0n;
      if (g !== f) {
        add({
          kind: 'position_mismatch',
          currency: cur,
          expected: f.toString(),
          actual: g.toString(),
          message: `Window ${w.windowId}, ${cur}: the hub's transfers of the window net to ${money(f, cur)} for ${me}, but its position says ${money(g, cur)}.`,
        });
      }
    }

    const booked = await deps.settlement.get(w.windowId);
    if (!booked) {
      if (given.some((p) => p.net !== '0')) {
        add({
          kind: 'settlement_not_booked',
          expected: JSON.stringify(given),
          message: `Window ${w.windowId} is not booked here: no settlement notice was received (the hub retries it), or it was refused; see the log.`,
        });
      }
      return;
    }
    const bookedMap = new Map(booked.positions.map((p) => [p.currency, BigInt(p.net)]));
    for (const cur of new Set([...givenMap.keys(), ...bookedMap.keys()])) {
      const g = givenMap.get(cur) ?? 0n;
      const b = bookedMap.get(cur) ?? 0n;
      if (g !== b) {
        add({
          kind: 'settlement_mismatch',
          currency: cur,
          expected: g.toString(),
          actual: b.toString(),
          message: `Window ${w.windowId}, ${cur}: the hub's position is ${money(g, cur)}, this processor booked ${money(b, cur)}.`,
        });
        continue;
      }
      if (b === 0n) continue;
      const id = settlementTransferId(w.windowId, cur);
      const t = await ledger.getTransfer(id);
      const amount = b < 0n ? -b : b;
      if (!t) {
        add({
          kind: 'ledger_missing',
          currency: cur,
          expected: amount.toString(),
          message: `Window ${w.windowId}, ${cur}: the settlement booking ${id} of ${money(amount, cur)} is missing from the ledger.`,
        });
      } else if (
        t.state !== 'posted' ||
        t.amount !== amount ||
        t.currency !== cur ||
        (b < 0n ? t.debitAccountId : t.creditAccountId) !== `settlement:${cur}`
      ) {
        add({
          kind: 'ledger_mismatch',
          currency: cur,
          expected: `posted ${amount}`,
          actual: `${t.state} ${t.amount}`,
          message:
            `Window ${w.windowId}, ${cur}: the settlement booking ${id} should move ${money(amount, cur)} ` +
            `${b < 0n ? `from settlement:${cur} to nostro:${cur}` : `from nostro:${cur} to settlement:${cur}`}; ` +
            `it is ${t.state}, ${money(t.amount, t.currency)} from ${t.debitAccountId} to ${t.creditAccountId}.`,
        });
      }
    }
  }
}

export type Reconciler = ReturnType<typeof createReconciler>;
