/**
 * A payment on the payer side as this processor stores it (table `payments`): a customer's payment, or a
 * merchant's refund sent back to the processor of the customer who paid; its states; and what the customer is
 * shown of it.
 */
import { paymentFxOf } from './fx.js';

export type PaymentState = 'NEW' | 'RESERVED' | 'COMMITTED' | 'ABORTED' | 'FAILED';

export interface PaymentRow {
  id: string;
  /** The customer who pays; null for a merchant's refund (`merchant_id`, `refund_of`). */
  customer_id: string | null;
  merchant_id: string | null;
  refund_of: string | null;
  device_id: string;
  request_id: string;
  payee: string;
  merchant: string;
  reference: string;
  amount: string;
  currency: string;
  state: PaymentState;
  reason: string | null;
  receipt: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
  /** A converted payment: JSON `PaymentFx` (fx.ts). */
  fx: string | null;
  /** Total debited in the customer's currency (minor units); what spending limits count. */
  charged: string | null;
  /** The hub's fees (JSON `TransferFees`) once known. */
  fees: string | null;
}

/** What the customer sees of a payment: `charged` is what their account was debited, in its currency. */
export function paymentView(p: PaymentRow) {
  const fx = paymentFxOf(p);
  return {
    paymentId: p.id,
    status:
      p.state === 'COMMITTED'
        ? 'COMPLETED'
        : p.state === 'ABORTED' || p.state === 'FAILED'
          ? 'FAILED'
          : 'PENDING',
    requestId: p.request_id,
    payee: p.payee,
    merchant: JSON.parse(p.merchant) as unknown,
    reference: p.reference,
    amount: { value: p.amount, currency: p.currency },
    charged: fx ? fx.source : { value: p.charged ?? p.amount, currency: p.currency },
    ...(fx ? { fx: { quoteId: fx.quoteId, rate: fx.rateShown, fee: fx.fee } } : {}),
    ...(p.reason ? { error: p.reason } : {}),
    ...(p.receipt ? { receipt: p.receipt } : {}),
    createdAt: p.created_at,
  };
}
