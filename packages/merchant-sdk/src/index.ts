/**
 * @semops/merchant-sdk — what a shop, till or vending machine needs to take SEMOPS payments: create payment
 * requests (QR payload, deep link, short code), follow them until paid, list payments, refund, and verify
 * signed webhooks. Runs in Node ≥ 20 and anywhere with `fetch` and WebCrypto.
 *
 * The browser half, the checkout button, is a plain script: `@semops/merchant-sdk/checkout/semops-checkout.js`
 * (see the README).
 */
export { SemopsMerchant, isFinal } from './client.js';
export type { SemopsMerchantOptions, CallOptions, IdempotentCallOptions, WaitOptions } from './client.js';
export {
  SemopsApiError,
  SemopsTimeoutError,
  WebhookSignatureError,
  apiErrorFromResponse,
  type ErrorCode,
  type WebhookFailure,
} from './errors.js';
export { amount, minorUnits, toMajor, formatMoney, sameMoney, type Money } from './money.js';
export {
  verifyWebhook,
  isPaymentCompleted,
  signWebhook,
  SIGNATURE_HEADER,
  DEFAULT_TOLERANCE_MS,
  type VerifyWebhookOptions,
} from './webhooks.js';
export type {
  CreateRequestInput,
  PaymentRequest,
  RequestPayment,
  MerchantPayment,
  RequestStatus,
  PaymentStatus,
  Refund,
  WebhookEvent,
  PaymentCompletedEvent,
  PaymentCompletedData,
} from './types.js';

/**
 * Where the checkout button script sits in this package, to serve it from your own server.
 *
 * @example
 * // node
 * import { readFileSync } from 'node:fs';
 * const script = readFileSync(CHECKOUT_SCRIPT_URL); // serve as text/javascript
 */
export const CHECKOUT_SCRIPT_URL: URL = new URL('../checkout/semops-checkout.js', import.meta.url);
