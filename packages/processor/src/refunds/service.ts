/**
 * A merchant's refunds of payments it received: the merchant's account is reserved and the refund travels,
 * keyed by the payment id, to the processor of the customer who paid, as a payment of this processor
 * (`payments/flow.ts`) with `refund_of` set. The merchant never learns who that was.
 */
import { SemopsError, newId, type MoneyWire } from '@semops/protocol';
import { merchantInfoOf, type Merchant } from '../merchants/service.js';
import { reservationCommands } from '../payments/fx.js';
import type { PaymentFlow } from '../payments/flow.js';
import { paymentView, type PaymentRow } from '../payments/model.js';
import type { PaymentDeps } from '../payments/service.js';

/** What a merchant sees of a refund it made: never who received it. */
export function refundView(p: PaymentRow) {
  const { status, error } = paymentView(p);
  return {
    refundId: p.id,
    paymentId: p.refund_of ?? '',
    amount: { value: p.amount, currency: p.currency },
    status,
    ...(error ? { error } : {}),
    createdAt: p.created_at,
  };
}

/**
 * Refunds go through the payment service's steps (`flow`) and mark themselves in its `active` set, which
 * reconcile leaves alone.
 */
export function createRefundService(deps: PaymentDeps, flow: PaymentFlow, active: Set<string>) {
  const { q, now } = deps;
  const { newPayment, insert, reserveIn, execute } = flow;

  /** The refunds of a merchant's payment recorded here (as payer of the refund). */
  async function refundsOf(paymentId: string): Promise<PaymentRow[]> {
    return q.all<PaymentRow>`SELECT * FROM payments WHERE refund_of = ${paymentId} ORDER BY created_at, id`;
  }

  /**
   * A merchant refunds (part of) a completed payment it received: the merchant's account is reserved and
   * the refund travels, keyed by the payment id, to the processor of the customer who paid. The merchant
   * never learns who that was. Several partial refunds may add up to the paid amount.
   */
  async function refund(m: Merchant, paymentId: string, amount?: MoneyWire) {
    const i = await q.one<{
      id: string;
      payer: string;
      amount: string;
      currency: string;
      request_id: string;
    }>`
      SELECT id, payer, amount, currency, request_id FROM incoming
      WHERE id = ${paymentId} AND merchant_id = ${m.id} AND state = 'COMMITTED' AND refund_of IS NULL`;
    if (!i) throw new SemopsError('PAYMENT_NOT_FOUND');
    if (amount && amount.currency !== i.currency) throw new SemopsError('CURRENCY_MISMATCH');
    const t0 = now();
    const id = newId('pay');
    // Opened before the transaction (opening one is a ledger batch of its own).
    await deps.house.settlement(i.currency);
    const p = await q.tx(async (tx): Promise<PaymentRow> => {
      // Lock the payment's row so that concurrent refunds of it are checked one after another.
      await tx.run`UPDATE incoming SET updated_at = updated_at WHERE id = ${paymentId}`;
      const earlier = await tx.all<{ amount: string }>`SELECT amount FROM payments
        WHERE refund_of = ${paymentId} AND state NOT IN ('ABORTED', 'FAILED')`;
      const left = BigInt(i.amount) - earlier.reduce((s, e) => s + BigInt(e.amount), 0n);
      const value = amount ? BigInt(amount.value) : left;
      if (value <= 0n || value > left) {
        throw new SemopsError('REFUND_EXCEEDS_PAYMENT', undefined, {
          refundable: { value: (left < 0n ? 0n : left).toString(), currency: i.currency },
        });
      }
      const refund = newPayment(t0, {
        id,
        customer_id: null,
        merchant_id: m.id,
        refund_of: paymentId,
        device_id: 'merchant',
        request_id: i.request_id,
        payee: i.payer,
        merchant: JSON.stringify(merchantInfoOf(m)),
        reference: `refund of ${paymentId}`,
        amount: value.toString(),
        currency: i.currency,
        fx: null,
        charged: null,
      });
      await insert(tx, refund, `refund_${id}`);
      // INSUFFICIENT_FUNDS and the like: the refund is recorded FAILED with the code.
      const refused = await reserveIn(
        tx,
        refund,
        await reservationCommands(refund, m.accountId, deps.house),
        async () => undefined,
      );
      return { ...refund, state: refused ? 'FAILED' : 'RESERVED', reason: refused?.code ?? null };
    });
    deps.metrics?.payment(p, p.state, p.reason);
    if (p.state !== 'RESERVED') return refundView(p);
    active.add(id);
    try {
      return refundView(await execute(p));
    } finally {
      active.delete(id);
    }
  }

  async function listRefunds(m: Merchant, paymentId: string) {
    const i = await q.one<{ id: string }>`SELECT id FROM incoming
      WHERE id = ${paymentId} AND merchant_id = ${m.id} AND refund_of IS NULL`;
    if (!i) throw new SemopsError('PAYMENT_NOT_FOUND');
    return (await refundsOf(paymentId)).filter((r) => r.merchant_id === m.id).map(refundView);
  }

  return { refund, listRefunds };
}
