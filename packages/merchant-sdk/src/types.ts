/**
 * The shapes of the merchant API (docs/protocol.md, "Processor HTTP API → Merchant").
 */
import type { Money } from './money.js';

export type RequestStatus = 'OPEN' | 'PAID' | 'EXPIRED' | 'CANCELLED';
export type PaymentStatus = 'COMPLETED' | 'PENDING' | 'FAILED';

/** What to ask the payer for. Give `amount`, or `minAmount`/`maxAmount` to let the payer enter it. */
export interface CreateRequestInput {
  /** Fixed amount. */
  readonly amount?: Money;
  /** Lowest amount the payer may enter (payer-entered amount). */
  readonly minAmount?: Money;
  /** Highest amount the payer may enter (payer-entered amount). */
  readonly maxAmount?: Money;
  /** ISO 4217 code; may be left out when an amount is given (it is taken from the amount). */
  readonly currency?: string;
  /** Your reference (order number…), up to 140 characters; shown to the payer and sent back in webhooks. */
  readonly reference: string;
  /** Shown to the payer, up to 500 characters. */
  readonly description?: string;
  /** 1 to 86 400; default 900 (15 minutes). */
  readonly expiresInSeconds?: number;
  /** A static request that can be paid many times (a parking zone, a till); default false. */
  readonly reusable?: boolean;
}

/** A payment received against a request. `receipt` is the payee processor's signed receipt (compact JWS). */
export interface RequestPayment {
  readonly paymentId: string;
  readonly requestId?: string;
  /** What the customer paid (gross). */
  readonly amount: Money;
  /** The merchant service charge the processor kept (the hub's fee schedule; zero when none applies). */
  readonly fee?: Money;
  /** What was credited to the merchant's account: `amount − fee`. */
  readonly net?: Money;
  readonly status: PaymentStatus;
  readonly receipt: string;
  readonly createdAt?: number;
}

/** A payment request, with every way to hand it to the payer. */
export interface PaymentRequest {
  readonly id: string;
  readonly status: RequestStatus;
  readonly currency: string;
  readonly amount?: Money;
  readonly minAmount?: Money;
  readonly maxAmount?: Money;
  readonly reference: string;
  readonly description?: string;
  readonly reusable: boolean;
  readonly createdAt?: number;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** The signed request token (compact JWS) a wallet can verify. */
  readonly token: string;
  /** EMV merchant-presented QR payload: render it as a QR code. */
  readonly qr: string;
  /** `semops://pay?p=<processor>&r=<request>`: open it on the payer's phone. */
  readonly deepLink: string;
  /** 10 digits the payer can type into SMS or USSD. */
  readonly shortCode: string;
  readonly payments: readonly RequestPayment[];
}

/** A payment the merchant received (from `GET /v1/merchant/payments`). */
export type MerchantPayment = RequestPayment;

/**
 * A refund of a completed payment. The refund API is being added to the processor (refunds travel back to the
 * payer through the hub by payment id); this is the shape the SDK expects from it.
 */
export interface Refund {
  readonly refundId: string;
  readonly paymentId: string;
  readonly amount: Money;
  readonly status: string;
  readonly [extra: string]: unknown;
}

/** Data of a `payment.completed` webhook: a payment was committed to the merchant. */
export interface PaymentCompletedData {
  readonly paymentId: string;
  readonly requestId: string;
  /** What the customer paid (gross). */
  readonly amount: Money;
  /** The merchant service charge kept by the processor. */
  readonly fee?: Money;
  /** What was credited to the merchant: `amount − fee`. */
  readonly net?: Money;
  readonly reference: string;
  /** The payee processor's signed receipt (compact JWS), when sent. */
  readonly receipt?: string;
}

/** Every webhook: `id` is unique per event (deduplicate on it), `createdAt` in epoch ms. */
export interface WebhookEvent<T extends string = string, D = unknown> {
  readonly id: string;
  readonly type: T;
  readonly createdAt: number;
  readonly data: D;
}

export type PaymentCompletedEvent = WebhookEvent<'payment.completed', PaymentCompletedData>;
