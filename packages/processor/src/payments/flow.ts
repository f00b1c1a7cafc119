/**
 * The steps of a payment on the payer side, each in one transaction: record it (state NEW, under its nonce),
 * reserve it (PIN and limits checked, ledger legs booked), execute it (prepare at the hub, or at this
 * processor's own payee side when it pays one of its own merchants), and settle it (state, ledger legs posted
 * or voided, receipt, notification, interchange) once the outcome is known. Approvals, refunds and recovery
 * all go through these steps.
 */
import type { LedgerCommand } from '@semops/ledger';
import { openTransaction, type Sql } from '@semops/node';
import {
  RECEIPT_TYP,
  SemopsError,
  decryptJson,
  nodeOfKeyId,
  peekJws,
  receipt as receiptSchema,
  verifyJson,
  type PrepareResult,
  type TransferFees,
  type TransferPrepare,
} from '@semops/protocol';
import { purposeOf } from '../requests/payee-bookings.js';
import { moneyText } from '../notifications/service.js';
import { expectSettled, interchangeCommand, paymentFxOf, reservationOutcome, settleCommands } from './fx.js';
import type { HubBatcher } from './hub-batch.js';
import type { PaymentRow } from './model.js';
import type { PaymentDeps } from './service.js';

export type PaymentFlow = ReturnType<typeof createPaymentFlow>;

export function createPaymentFlow(deps: PaymentDeps, batcher: HubBatcher) {
  const { q, ledger, now, processorId } = deps;

  async function row(id: string): Promise<PaymentRow | undefined> {
    return q.one<PaymentRow>`SELECT * FROM payments WHERE id = ${id}`;
  }

  /** A payment about to be recorded at `t0`: state NEW, expiring with the transfer's time to live. */
  function newPayment(
    t0: number,
    f: Omit<PaymentRow, 'state' | 'reason' | 'receipt' | 'fees' | 'expires_at' | 'created_at' | 'updated_at'>,
  ): PaymentRow {
    return {
      ...f,
      state: 'NEW',
      reason: null,
      receipt: null,
      fees: null,
      expires_at: t0 + deps.transferTtlMs,
      created_at: t0,
      updated_at: t0,
    };
  }

  /** Records a new payment (state NEW) under its nonce: a second use of the nonce is a unique violation. */
  async function insert(tx: Sql, p: PaymentRow, nonce: string): Promise<void> {
    await tx.run`INSERT INTO payments (id, customer_id, merchant_id, refund_of, device_id, nonce, request_id, payee,
        merchant, reference, amount, currency, state, expires_at, created_at, updated_at, fx, charged)
      VALUES (${p.id}, ${p.customer_id}, ${p.merchant_id}, ${p.refund_of}, ${p.device_id}, ${nonce}, ${p.request_id},
        ${p.payee}, ${p.merchant}, ${p.reference}, ${p.amount}, ${p.currency}, 'NEW', ${p.expires_at},
        ${p.created_at}, ${p.updated_at}, ${p.fx}, ${p.charged})`;
  }

  /**
   * A payment refused before anything was reserved (wrong PIN, a limit, funds, a crash before the reservation):
   * FAILED with why, in `tx`, and the quote of a conversion is free again — the customer may retry at the price
   * they were shown while it holds.
   */
  async function failIn(tx: Sql, p: PaymentRow, code: string): Promise<void> {
    await tx.run`UPDATE payments SET state = 'FAILED', reason = ${code}, updated_at = ${now()}
      WHERE id = ${p.id} AND state = 'NEW'`;
    const fx = paymentFxOf(p);
    if (fx) await deps.fx.release(fx.quoteId, p.id, tx);
  }

  /**
   * Reserves a recorded payment (state NEW) in the transaction `tx` that recorded it: `checks` first (PIN,
   * limits), then the ledger legs. Ends RESERVED, or FAILED with the refusal, which it returns — a wrong PIN's
   * try and the failure commit like the reservation would, and a quote the payment took is free again.
   */
  async function reserveIn(
    tx: Sql,
    p: PaymentRow,
    legs: readonly LedgerCommand[],
    checks: () => Promise<void>,
  ): Promise<SemopsError | undefined> {
    try {
      await checks();
      const refused = reservationOutcome(
        await ledger.executeWithin(openTransaction(tx), legs, { atomic: true }),
      );
      if (refused) throw new SemopsError(refused);
    } catch (e) {
      if (!(e instanceof SemopsError)) throw e;
      await failIn(tx, p, e.code);
      return e;
    }
    await tx.run`UPDATE payments SET state = 'RESERVED', updated_at = ${now()} WHERE id = ${p.id} AND state = 'NEW'`;
    return undefined;
  }

  /**
   * The prepare the hub gets for a payment (the same on every retry): a merchant's request is a purchase (the
   * hub's fee schedule applies); a person's request and an agent's till (cash-out) are paid by a P2P
   * transfer (`purposeOf`, read from the signed request's payee); a refund is neither. A conversion reports
   * the total debited in the customer's currency, the FX margin kept and the conversion fee (when not 0).
   */
  function prepareOf(p: PaymentRow): TransferPrepare {
    const fx = paymentFxOf(p);
    const payee = JSON.parse(p.merchant) as { id?: unknown; category?: unknown };
    const purpose = purposeOf({
      id: typeof payee.id === 'string' ? payee.id : '',
      category: typeof payee.category === 'string' ? payee.category : '',
    });
    return {
      transferId: p.id,
      requestId: p.request_id,
      payer: processorId,
      payee: p.payee,
      amount: { value: p.amount, currency: p.currency },
      expiresAt: Number(p.expires_at),
      ...(p.refund_of === null ? { purpose } : { refundOf: p.refund_of }),
      ...(fx
        ? {
            fx: {
              source: fx.source,
              margin: fx.marginCredit,
              ...(BigInt(fx.fee.value) > 0n ? { fee: fx.fee } : {}),
              rate: fx.rateShown.slice(0, 40),
            },
          }
        : {}),
    };
  }

  /**
   * Prepare → settle a reserved payment; returns it as it then is (final, or pending when unknown). `traceId`
   * (the customer's request's) travels in the prepare to the hub and the payee, for their log lines.
   */
  async function execute(p: PaymentRow, traceId?: string): Promise<PaymentRow> {
    const prepare = { ...prepareOf(p), ...(traceId === undefined ? {} : { traceId }) };
    let settled: PaymentRow | undefined;
    if (p.payee === processorId) {
      const f = await deps.requests.accept(prepare);
      if (f.decision === 'FULFIL' && f.receipt) {
        settled = await settle(
          p.id,
          'COMMITTED',
          undefined,
          await checkedReceipt(f.receipt, p),
          undefined,
          p,
        );
        // Credit the merchant only if the payer side really committed (reconcile may have voided it).
        if (settled?.state === 'COMMITTED') await deps.requests.commit(p.id);
        else await deps.requests.abort(p.id);
      } else {
        settled = await settle(
          p.id,
          'ABORTED',
          f.error?.code ?? 'TRANSFER_REJECTED',
          undefined,
          undefined,
          p,
        );
      }
    } else {
      let r: PrepareResult;
      try {
        r = await batcher.prepare(prepare);
      } catch (e) {
        if (
          e instanceof SemopsError &&
          e.code !== 'PARTICIPANT_UNREACHABLE' &&
          e.code !== 'INTERNAL' &&
          e.code !== 'UNAVAILABLE'
        ) {
          // The hub refused the message as a whole: nothing was reserved there.
          settled = await settle(p.id, 'ABORTED', e.code, undefined, undefined, p);
        } else {
          deps.log.warn({ paymentId: p.id, traceId }, 'prepare outcome unknown; reconcile will settle it');
        }
        return settled ?? (await row(p.id))!;
      }
      if (r.state === 'COMMITTED')
        settled = await settle(p.id, 'COMMITTED', undefined, await checkedReceipt(r.receipt, p), r.fees, p);
      else if (r.state === 'ABORTED' || r.error)
        settled = await settle(
          p.id,
          'ABORTED',
          r.error?.code ?? 'TRANSFER_REJECTED',
          undefined,
          undefined,
          p,
        );
    }
    const after = settled ?? (await row(p.id))!;
    deps.log.debug({ paymentId: p.id, traceId, state: after.state }, 'payment executed');
    return after;
  }

  /**
   * Opens and verifies the payee processor's sealed receipt; a bad one is logged and dropped (the hub's
   * commit stands). Returns the signed receipt (JWS) the customer keeps.
   */
  async function checkedReceipt(sealed: string | undefined, p: PaymentRow): Promise<string | undefined> {
    if (!sealed) return undefined;
    try {
      const { receipt: jws } = (await decryptJson(sealed, deps.encryptionKey)) as { receipt: string };
      const { kid } = peekJws(jws);
      const key = nodeOfKeyId(kid) === p.payee ? await deps.hub.resolveKey(kid) : undefined;
      const r = receiptSchema.parse(key ? await verifyJson(jws, key, RECEIPT_TYP) : undefined);
      if (r.paymentId === p.id && r.amount.value === p.amount && r.processorId === p.payee) return jws;
    } catch {
      // fall through
    }
    deps.log.error({ paymentId: p.id }, 'payee receipt did not verify');
    return undefined;
  }

  /**
   * Applies the network's outcome to a payment exactly once, in one transaction: the state, the ledger legs
   * posted or voided (every leg of a conversion together), the receipt, the customer's notification and, with
   * the hub's `fees`, the interchange received for a purchase. Returns the payment as it then is.
   * `known`: the row as this process last had it (the payment it is executing), to spare a read; the
   * transaction reads it again.
   */
  async function settle(
    id: string,
    outcome: 'COMMITTED' | 'ABORTED',
    reason?: string,
    receipt?: string,
    fees?: TransferFees,
    known?: PaymentRow,
  ): Promise<PaymentRow | undefined> {
    const settling = performance.now();
    const seen = known ?? (await row(id));
    if (!seen || seen.state === 'FAILED' || seen.state === 'ABORTED') return seen;
    // The hub's notification of a commit this node already settled from the answer: nothing new to keep
    // (the interchange is booked in the transaction that stored the fees).
    if (
      seen.state === 'COMMITTED' &&
      outcome === 'COMMITTED' &&
      (receipt === undefined || seen.receipt !== null) &&
      (fees === undefined || seen.fees !== null)
    ) {
      return seen;
    }
    // Worked out before the transaction (the house accounts may have to be opened first).
    const storedFees = seen.fees === null ? undefined : (JSON.parse(seen.fees) as TransferFees);
    const ic =
      outcome === 'COMMITTED' ? await interchangeCommand(seen, fees ?? storedFees, deps.house) : undefined;
    // The state this call moved the payment to, counted once its transaction committed.
    let reached: 'FAILED' | 'COMMITTED' | 'ABORTED' | undefined;
    const out = await q.tx(async (tx) => {
      reached = undefined;
      const p = await tx.one<PaymentRow>`SELECT * FROM payments WHERE id = ${id}`;
      if (!p) return undefined;
      const t = now();
      if (fees && outcome === 'COMMITTED' && p.fees === null) {
        // Kept on the row, so that the interchange can still be booked when it is learnt before the commit.
        await tx.run`UPDATE payments SET fees = ${JSON.stringify(fees)} WHERE id = ${id} AND fees IS NULL`;
      }
      if (p.state === 'NEW') {
        // Nothing was reserved (the reservation commits with RESERVED): a failure like any before money moved,
        // so the quote of a conversion is given back too.
        await failIn(tx, p, reason ?? 'TRANSFER_REJECTED');
        reached = 'FAILED';
      } else if (p.state === 'COMMITTED' && outcome === 'COMMITTED') {
        // The hub's notification can overtake its answer to the prepare: the receipt, or the fees and so the
        // interchange (once, by its id), may arrive second.
        if (receipt && !p.receipt) {
          await tx.run`UPDATE payments SET receipt = ${receipt} WHERE id = ${id} AND receipt IS NULL`;
        }
        if (ic) expectSettled(await ledger.executeWithin(openTransaction(tx), [ic], { atomic: true }));
      } else if (p.state === 'RESERVED' && outcome === 'COMMITTED') {
        const legs = [...settleCommands(p, 'post'), ...(ic ? [ic] : [])];
        expectSettled(await ledger.executeWithin(openTransaction(tx), legs, { atomic: true }));
        const committed = await tx.one<PaymentRow>`UPDATE payments SET state = 'COMMITTED', reason = NULL,
            receipt = COALESCE(${receipt ?? null}, receipt), updated_at = ${t}
          WHERE id = ${id} AND state = 'RESERVED' RETURNING *`;
        if (committed) reached = 'COMMITTED';
        if (p.customer_id !== null) {
          const amount = { value: p.amount, currency: p.currency };
          const fx = paymentFxOf(p);
          const to = (JSON.parse(p.merchant) as { name?: string }).name ?? p.payee;
          await deps.notifications?.record(
            p.customer_id,
            'payment.sent',
            fx
              ? `You paid ${moneyText(amount)} (${moneyText(fx.source)}) to ${to}.`
              : `You paid ${moneyText(amount)} to ${to}.`,
            fx?.source ?? amount,
            undefined,
            tx,
          );
        }
        if (committed) return committed;
      } else if (p.state === 'RESERVED') {
        expectSettled(
          await ledger.executeWithin(openTransaction(tx), settleCommands(p, 'void'), { atomic: true }),
        );
        const aborted = await tx.one<PaymentRow>`UPDATE payments SET state = 'ABORTED',
            reason = ${reason ?? 'TRANSFER_REJECTED'}, updated_at = ${t}
          WHERE id = ${id} AND state = 'RESERVED' RETURNING *`;
        if (aborted) {
          reached = 'ABORTED';
          return aborted;
        }
      }
      return tx.one<PaymentRow>`SELECT * FROM payments WHERE id = ${id}`;
    });
    if (reached && out) {
      deps.metrics?.payment(out, reached, out.reason);
      deps.metrics?.step('payer_settle', settling);
    }
    return out;
  }

  return { row, newPayment, insert, reserveIn, prepareOf, execute, checkedReceipt, settle };
}
