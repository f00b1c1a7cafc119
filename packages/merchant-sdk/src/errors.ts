/**
 * The SDK's typed errors. Every failed API call rejects with a {@link SemopsApiError} whose `code` is one of
 * the stable SEMOPS error codes, rebuilt from the `{ error: { code, message, details } }` body the processor
 * sent; a webhook that does not verify throws a {@link WebhookSignatureError}.
 */
import { ERRORS, isErrorCode, type ErrorCode } from '@semops/protocol';
import type { PaymentRequest } from './types.js';

export type { ErrorCode };

/**
 * A SEMOPS API call failed. `code` is the stable error code (switch on it, not on `message`), `status` the
 * HTTP status (0 when the processor could not be reached), `details` whatever the server added (for
 * `VALIDATION_FAILED`, the list of schema issues).
 *
 * @example
 * try {
 *   await merchant.cancelRequest(id);
 * } catch (e) {
 *   if (e instanceof SemopsApiError && e.code === 'REQUEST_ALREADY_PAID') showPaid();
 *   else throw e;
 * }
 */
export class SemopsApiError extends Error {
  override readonly name = 'SemopsApiError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(
    code: ErrorCode,
    status: number,
    message?: string,
    details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message ?? ERRORS[code].message, options);
    this.code = code;
    this.status = status;
    this.details = details;
  }

  /** True for failures worth retrying later with the same idempotency key (unreachable node, rate limit). */
  get retryable(): boolean {
    return (
      this.code === 'UNAVAILABLE' ||
      this.code === 'OVERLOADED' ||
      this.code === 'PARTICIPANT_UNREACHABLE' ||
      this.code === 'RATE_LIMITED'
    );
  }
}

/** The code for an error answer whose body is not a SEMOPS error body (a proxy's HTML page, say). */
function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 405) return 'METHOD_NOT_ALLOWED';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 502 || status === 503 || status === 504) return 'UNAVAILABLE';
  if (status >= 500) return 'INTERNAL';
  return 'VALIDATION_FAILED';
}

/** Rebuilds the typed error from an HTTP error answer. */
export function apiErrorFromResponse(status: number, body: unknown): SemopsApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (e && isErrorCode(e.code)) {
    return new SemopsApiError(
      e.code,
      status,
      typeof e.message === 'string' ? e.message : undefined,
      e.details,
    );
  }
  const code = codeForStatus(status);
  return new SemopsApiError(code, status, `HTTP ${status}: ${ERRORS[code].message}`, body);
}

/** Why a webhook was refused. */
export type WebhookFailure =
  | 'MISSING_HEADER'
  | 'MALFORMED_HEADER'
  | 'TIMESTAMP_OUT_OF_TOLERANCE'
  | 'SIGNATURE_MISMATCH'
  | 'MALFORMED_BODY';

/**
 * A webhook did not verify: answer it with a 4xx and do not act on it. `reason` says why, for your logs.
 *
 * @example
 * try {
 *   event = await verifyWebhook(rawBody, req.headers['semops-signature'], secret);
 * } catch (e) {
 *   if (e instanceof WebhookSignatureError) return res.writeHead(400).end(e.reason);
 *   throw e;
 * }
 */
export class WebhookSignatureError extends Error {
  override readonly name = 'WebhookSignatureError';
  readonly reason: WebhookFailure;
  constructor(reason: WebhookFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * {@link SemopsMerchant.waitForCompletion} gave up before the request reached a final state. `lastKnown` is
 * the request as last seen (usually still `OPEN`).
 */
export class SemopsTimeoutError extends Error {
  override readonly name = 'SemopsTimeoutError';
  constructor(
    message: string,
    readonly lastKnown: PaymentRequest | undefined,
  ) {
    super(message);
  }
}
