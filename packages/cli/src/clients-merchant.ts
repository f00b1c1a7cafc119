/**
 * The merchant's client: `@semops/merchant-sdk`'s {@link SemopsMerchant}, plus the few calls the SDK does not
 * offer yet (list a payment's refunds) and the CLI's habits (url and key in the constructor, no retries, so a
 * test sees what the processor answered the first time).
 */
import {
  SemopsMerchant,
  type IdempotentCallOptions,
  type Money,
  type PaymentRequest,
  type Refund,
} from '@semops/merchant-sdk';
import { json } from './http.js';

/** A refund as the processor reports it: the SDK's {@link Refund} with its status and failure code. */
export type RefundView = Refund & {
  readonly status: 'COMPLETED' | 'PENDING' | 'FAILED';
  readonly error?: string;
};

export class MerchantClient extends SemopsMerchant {
  constructor(
    readonly url: string,
    readonly apiKey: string,
  ) {
    super({ baseUrl: url, apiKey, maxRetries: 0 });
  }

  /** The request and the payments made against it ({@link SemopsMerchant.getRequest}). */
  request(id: string): Promise<PaymentRequest> {
    return this.getRequest(id);
  }

  /** Refunds all (no amount) or part of a completed payment this merchant received. */
  override refund(
    paymentId: string,
    amount?: Money,
    options: IdempotentCallOptions = {},
  ): Promise<RefundView> {
    return super.refund(paymentId, amount, options) as Promise<RefundView>;
  }

  /** The refunds of one payment this merchant received. */
  refunds(paymentId: string) {
    return json<{ refunds: RefundView[] }>(
      'GET',
      `${this.url}/v1/payments/${encodeURIComponent(paymentId)}/refunds`,
      { token: this.apiKey },
    );
  }
}
