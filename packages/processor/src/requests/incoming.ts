/**
 * The payee side of transfers: a prepare is checked against its request (or, for a refund, against the
 * payment it pays back) and accepted with a signed receipt or rejected; the hub's outcome then books it
 * (commit: state, ledger legs, notification and webhook in one transaction) or releases the request (abort).
 * Idempotent by transfer id, also after a crash.
 */
import { openTransaction } from '@semops/node';
import {
  RECEIPT_TYP,
  SemopsError,
  signAs,
  type FulfilResult,
  type MerchantInfo,
  type Receipt,
  type TransferPrepare,
} from '@semops/protocol';
import type { Customer } from '../customers/service.js';
import type { Merchant } from '../merchants/service.js';
import { moneyText } from '../notifications/service.js';
import {
  book,
  checkPurposeAndFees,
  convertedRefundCommands,
  fixRefundConversion,
  parseOriginalFx,
  paymentInCommands,
  type RefundFx,
} from './payee-bookings.js';
import {
  assertPayable,
  checkAmount,
  entitlement,
  feeView,
  type IncomingRow,
  type RequestRow,
} from './rows.js';
import type { RequestDeps } from './service.js';

/** What the request service lends the payee side. */
export interface IncomingContext {
  readonly row: (id: string) => Promise<RequestRow | undefined>;
  readonly incomingById: (id: string) => Promise<IncomingRow | undefined>;
  readonly payeeOf: (r: RequestRow) => Promise<{ info: MerchantInfo; merchant?: Merchant }>;
  readonly purposeExpected: (r: { readonly merchant_id: string | null }) => Promise<'purchase' | 'p2p'>;
  /** Tells those watching a request (SSE) its new state. */
  readonly publish: (requestId: string) => Promise<void>;
  /** Seals a receipt to the payer processor. */
  readonly seal: (receipt: string, payer: string) => Promise<string>;
}

/** The payee's refusal of a prepare, with why. */
const rejected = (p: TransferPrepare, e: SemopsError): FulfilResult => ({
  transferId: p.transferId,
  decision: 'REJECT',
  error: { code: e.code, message: e.message },
});

export function createIncomingTransfers(deps: RequestDeps, ctx: IncomingContext) {
  const { q, now } = deps;
  const { row, incomingById, payeeOf, purposeExpected, publish, seal } = ctx;

  /** The display name of the merchant a customer paid, for the refund notification. */
  async function refundedMerchantName(paymentId: string): Promise<string> {
    const p = await q.one<{ merchant: string }>`SELECT merchant FROM payments WHERE id = ${paymentId}`;
    try {
      return (JSON.parse(p?.merchant ?? '{}') as { name?: string }).name ?? 'a merchant';
    } catch {
      return 'a merchant';
    }
  }

  /**
   * A re-sent prepare must carry the purpose and fees the first one had: the fees are fixed at prepare time.
   * Returns the conflict to reject with, if any.
   */
  function sameFees(
    existing: IncomingRow,
    p: TransferPrepare,
    expected: 'purchase' | 'p2p',
  ): SemopsError | null {
    let fees;
    try {
      fees = checkPurposeAndFees(p, expected, `Transfer ${p.transferId}`);
    } catch (e) {
      if (e instanceof SemopsError) return e;
      throw e;
    }
    if (fees.msc.toString() !== existing.msc || fees.interchange.toString() !== existing.interchange) {
      return new SemopsError(
        'TRANSFER_CONFLICT',
        `Transfer ${p.transferId} was prepared with fees msc ${existing.msc}, interchange ${existing.interchange}; ` +
          `it was sent again with msc ${fees.msc}, interchange ${fees.interchange}.`,
      );
    }
    return null;
  }

  /**
   * A refund of one of our customers' payments that was converted from their currency: fixes (once) and
   * returns how it is booked back at the original rate. Null for a same-currency payment.
   */
  async function convertedRefund(i: IncomingRow, c: Customer): Promise<RefundFx | null> {
    if (i.refund_of === null) return null;
    const orig = await q.one<{ amount: string; currency: string; fx?: string | null }>`SELECT * FROM payments
      WHERE id = ${i.refund_of}`;
    if (!orig) throw new SemopsError('INTERNAL', `the refunded payment ${i.refund_of} is gone`);
    const fx = parseOriginalFx(orig.fx, c.currency);
    if (!fx) return null;
    if (fx.payerCurrency !== c.currency) {
      throw new SemopsError(
        'INTERNAL',
        `payment ${i.refund_of} was converted from ${fx.payerCurrency}, but the customer's account is in ${c.currency}`,
      );
    }
    return fixRefundConversion(q, { ...i, refund_of: i.refund_of }, orig, fx);
  }

  /**
   * A refund of one of our customers' payments, coming back from the processor that was paid. Accepted only
   * for a COMMITTED outgoing payment to that processor, in its currency, with enough left unrefunded; the
   * receipt (signed by us) names the merchant, never the customer.
   */
  async function acceptRefund(p: TransferPrepare, refundOf: string): Promise<FulfilResult> {
    const reject = (e: SemopsError) => rejected(p, e);
    const existing = await incomingById(p.transferId);
    if (existing) {
      if (
        existing.refund_of !== refundOf ||
        existing.amount !== p.amount.value ||
        existing.payer !== p.payer
      ) {
        return reject(new SemopsError('TRANSFER_CONFLICT'));
      }
      const conflict = sameFees(existing, p, 'p2p');
      if (conflict) return reject(conflict);
      if (existing.state === 'ABORTED') return reject(new SemopsError('TRANSFER_EXPIRED'));
      return { transferId: p.transferId, decision: 'FULFIL', receipt: await seal(existing.receipt, p.payer) };
    }
    try {
      if (p.payee !== deps.processorId) throw new SemopsError('PAYEE_MISMATCH');
      if (p.expiresAt <= now()) throw new SemopsError('TRANSFER_EXPIRED');
      checkPurposeAndFees(p, 'p2p', `A refund (of ${refundOf})`);
      const orig = await q.one<{
        customer_id: string | null;
        payee: string;
        amount: string;
        currency: string;
        state: string;
        refund_of: string | null;
        merchant: string;
        reference: string;
      }>`SELECT customer_id, payee, amount, currency, state, refund_of, merchant, reference FROM payments
        WHERE id = ${refundOf}`;
      if (
        !orig ||
        orig.state !== 'COMMITTED' ||
        orig.refund_of !== null ||
        orig.customer_id === null ||
        orig.payee !== p.payer
      ) {
        throw new SemopsError('PAYMENT_NOT_FOUND', 'No completed payment to that processor has this id.');
      }
      if (orig.currency !== p.amount.currency) throw new SemopsError('CURRENCY_MISMATCH');
      const t = now();
      const receipt: Receipt = {
        receiptId: `rct_${p.transferId.slice(4)}`,
        paymentId: p.transferId,
        requestId: p.requestId,
        processorId: deps.processorId,
        merchant: JSON.parse(orig.merchant) as MerchantInfo,
        amount: p.amount,
        reference: `refund of ${refundOf}`,
        acceptedAt: t,
      };
      const jws = await signAs(deps.signer, receipt, RECEIPT_TYP);
      await q.tx(async (tx) => {
        // Lock the original payment's row so that concurrent refunds of it are checked one after another.
        await tx.run`UPDATE payments SET updated_at = updated_at WHERE id = ${refundOf}`;
        const earlier = await tx.all<{ amount: string }>`SELECT amount FROM incoming
          WHERE refund_of = ${refundOf} AND state <> 'ABORTED'`;
        const refunded = earlier.reduce((sum, e) => sum + BigInt(e.amount), 0n);
        if (refunded + BigInt(p.amount.value) > BigInt(orig.amount)) {
          throw new SemopsError('REFUND_EXCEEDS_PAYMENT');
        }
        await tx.run`INSERT INTO incoming (id, request_id, merchant_id, customer_id, refund_of, payer, amount, currency,
            state, receipt, expires_at, created_at, updated_at)
          VALUES (${p.transferId}, NULL, NULL, ${orig.customer_id}, ${refundOf}, ${p.payer}, ${p.amount.value},
            ${p.amount.currency}, 'ACCEPTED', ${jws}, ${p.expiresAt}, ${t}, ${t})`;
      });
      return { transferId: p.transferId, decision: 'FULFIL', receipt: await seal(jws, p.payer) };
    } catch (e) {
      if (e instanceof SemopsError) return reject(e);
      throw e;
    }
  }

  return {
    /**
     * Checks one prepare against its request and accepts it (FULFIL with a signed receipt) or rejects it.
     * Idempotent by transfer id. Accepting a single-use request holds it for this transfer until commit or abort.
     */
    async accept(p: TransferPrepare): Promise<FulfilResult> {
      if (p.refundOf !== undefined) return acceptRefund(p, p.refundOf);
      const reject = (e: SemopsError) => rejected(p, e);
      const existing = await incomingById(p.transferId);
      if (existing) {
        if (
          existing.refund_of !== null ||
          existing.request_id !== p.requestId ||
          existing.amount !== p.amount.value ||
          existing.payer !== p.payer
        ) {
          return reject(new SemopsError('TRANSFER_CONFLICT'));
        }
        const conflict = sameFees(existing, p, await purposeExpected(existing));
        if (conflict) return reject(conflict);
        if (existing.state === 'ABORTED') return reject(new SemopsError('TRANSFER_EXPIRED'));
        return {
          transferId: p.transferId,
          decision: 'FULFIL',
          receipt: await seal(existing.receipt, p.payer),
        };
      }
      try {
        if (p.payee !== deps.processorId) throw new SemopsError('PAYEE_MISMATCH');
        if (p.expiresAt <= now()) throw new SemopsError('TRANSFER_EXPIRED');
        const r = await row(p.requestId);
        if (!r) throw new SemopsError('REQUEST_NOT_FOUND');
        const fees = checkPurposeAndFees(p, await purposeExpected(r), `Request ${r.id}`);
        assertPayable(r, now());
        checkAmount(r, BigInt(p.amount.value), p.amount.currency);
        const { info } = await payeeOf(r);
        const t = now();
        const receipt: Receipt = {
          receiptId: `rct_${p.transferId.slice(4)}`,
          paymentId: p.transferId,
          requestId: r.id,
          processorId: deps.processorId,
          merchant: info,
          amount: p.amount,
          reference: r.reference,
          acceptedAt: t,
          ...entitlement(r, BigInt(p.amount.value), t),
        };
        const jws = await signAs(deps.signer, receipt, RECEIPT_TYP);
        await q.tx(async (tx) => {
          // A single-use request is held by one transfer at a time: the conditional update decides, also
          // between instances of this processor.
          if (r.reusable === 0) {
            const held = await tx.run`UPDATE requests SET in_flight = ${p.transferId}
              WHERE id = ${r.id} AND in_flight IS NULL AND status = 'OPEN'`;
            if (held !== 1) throw new SemopsError('REQUEST_ALREADY_PAID');
          }
          await tx.run`INSERT INTO incoming (id, request_id, merchant_id, customer_id, payer, amount, currency, state,
              receipt, expires_at, created_at, updated_at, msc, interchange)
            VALUES (${p.transferId}, ${r.id}, ${r.merchant_id}, ${r.customer_id}, ${p.payer}, ${p.amount.value},
              ${p.amount.currency}, 'ACCEPTED', ${jws}, ${p.expiresAt}, ${t}, ${t}, ${fees.msc.toString()},
              ${fees.interchange.toString()})`;
        });
        await publish(r.id);
        return { transferId: p.transferId, decision: 'FULFIL', receipt: await seal(jws, p.payer) };
      } catch (e) {
        if (e instanceof SemopsError) return reject(e);
        throw e;
      }
    },

    /**
     * The transfer is final at the hub: book it (merchant credited with the amount less the MSC, the MSC to fee
     * income, the interchange out through settlement; a refund of a converted payment back in the customer's
     * currency at the original rate), mark the request paid, notify. Idempotent, also after a crash.
     */
    async commit(transferId: string): Promise<boolean> {
      const i = await incomingById(transferId);
      if (!i || i.state !== 'ACCEPTED') return false;
      const m = i.merchant_id === null ? undefined : await deps.merchants.get(i.merchant_id);
      const c = i.customer_id === null ? undefined : await deps.customers.get(i.customer_id);
      const creditAccountId = m?.accountId ?? c?.accountId;
      if (!creditAccountId) throw new SemopsError('INTERNAL', `incoming ${transferId} has no payee`);
      // Worked out before the transaction: a converted refund's amounts are fixed (stored) first, and the house
      // accounts opened.
      const converted = i.refund_of === null || !c ? null : await convertedRefund(i, c);
      const fees = { msc: BigInt(i.msc), interchange: BigInt(i.interchange) };
      const bookings = converted
        ? await convertedRefundCommands(deps.house, i, converted, creditAccountId)
        : await paymentInCommands(deps.house, i, fees, creditAccountId);
      const t = now();
      const amount = { value: i.amount, currency: i.currency };
      const refundFrom = i.refund_of !== null && c ? await refundedMerchantName(i.refund_of) : undefined;
      // The state change, the bookings, the customer's notification and the merchant's webhook: one transaction
      // (the webhook an outbox).
      const changed = await q.tx(async (tx) => {
        const n = await tx.run`UPDATE incoming SET state = 'COMMITTED', updated_at = ${t}, committed_at = ${t}
          WHERE id = ${transferId} AND state = 'ACCEPTED'`;
        if (n !== 1) return n;
        await book(deps.ledger, bookings, `incoming ${transferId}`, openTransaction(tx));
        if (i.request_id !== null) {
          await tx.run`UPDATE requests SET status = 'PAID' WHERE id = ${i.request_id} AND reusable = 0 AND status = 'OPEN'`;
        }
        if (c && refundFrom !== undefined) {
          // A converted payment is refunded in the customer's own currency: tell them what they got.
          const credited = converted
            ? { value: converted.customerCredit, currency: converted.payerCurrency }
            : amount;
          const how = converted
            ? ` (${moneyText(amount)}${converted.rateShown ? ` at the rate you paid, ${converted.rateShown}` : ' at the rate you paid'})`
            : '';
          await deps.notifications.record(
            c.id,
            'refund.received',
            `Refund of ${moneyText(credited)} from ${refundFrom}${how}.`,
            credited,
            undefined,
            tx,
          );
        } else if (c) {
          await deps.notifications.record(
            c.id,
            'payment.received',
            `You received ${moneyText(amount)}.`,
            amount,
            undefined,
            tx,
          );
        }
        if (m && i.request_id !== null) {
          const r = await tx.one<{
            reference: string;
          }>`SELECT reference FROM requests WHERE id = ${i.request_id}`;
          await deps.webhooks.enqueue(
            m,
            'payment.completed',
            {
              paymentId: transferId,
              requestId: i.request_id,
              amount,
              ...feeView(i),
              reference: r?.reference ?? '',
              receipt: i.receipt,
            },
            tx,
          );
        }
        return n;
      });
      if (changed === 1 && i.request_id !== null) await publish(i.request_id);
      return changed === 1;
    },

    /** The transfer was aborted: release the request. Idempotent. */
    async abort(transferId: string): Promise<boolean> {
      const i = await incomingById(transferId);
      if (!i || i.state !== 'ACCEPTED') return false;
      await q.tx(async (tx) => {
        await tx.run`UPDATE incoming SET state = 'ABORTED', updated_at = ${now()}
          WHERE id = ${transferId} AND state = 'ACCEPTED'`;
        if (i.request_id !== null) {
          await tx.run`UPDATE requests SET in_flight = NULL WHERE id = ${i.request_id} AND in_flight = ${transferId}`;
        }
      });
      if (i.request_id !== null) await publish(i.request_id);
      return true;
    },

    /** Accepted transfers still waiting for their outcome (for reconciliation with the hub). */
    async openIncoming(olderThan: number): Promise<Array<{ id: string; expiresAt: number }>> {
      const rows = await q.all<{ id: string; expires_at: number }>`SELECT id, expires_at FROM incoming
        WHERE state = 'ACCEPTED' AND created_at < ${olderThan} LIMIT 500`;
      return rows.map((r) => ({ id: r.id, expiresAt: Number(r.expires_at) }));
    },

    async hasIncoming(transferId: string): Promise<boolean> {
      return (await incomingById(transferId)) !== undefined;
    },
  };
}
