/**
 * The one table of SEMOPS error codes: every failure a client can meet, with its HTTP status and a message a
 * person can act on. Adding a code without an entry fails to compile.
 */

export const ERRORS = {
  // Input and transport
  VALIDATION_FAILED: { http: 400, message: 'The request does not match the expected format; see details.' },
  MALFORMED_JSON: { http: 400, message: 'The request body is not valid JSON.' },
  PAYLOAD_TOO_LARGE: { http: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, message: 'Send the body as application/json.' },
  NOT_FOUND: { http: 404, message: 'No such resource.' },
  METHOD_NOT_ALLOWED: { http: 405, message: 'This method is not allowed on this resource.' },
  UNAUTHORIZED: { http: 401, message: 'Missing or invalid credentials.' },
  FORBIDDEN: { http: 403, message: 'These credentials may not do this.' },
  IDEMPOTENCY_CONFLICT: {
    http: 409,
    message: 'This idempotency key was already used with a different request body; use a new key.',
  },
  RATE_LIMITED: { http: 429, message: 'Too many requests; slow down and retry later.' },
  INTERNAL: { http: 500, message: 'An internal error occurred; it has been logged. Retry later.' },
  UNAVAILABLE: { http: 503, message: 'A node needed for this operation is unreachable; retry later.' },
  NOT_READY: {
    http: 503,
    message: 'This node is not ready to take work (details.checks names what is not); retry later.',
  },
  // Signed messages between nodes
  MESSAGE_MALFORMED: { http: 400, message: 'The signed message is malformed.' },
  SIGNATURE_INVALID: { http: 401, message: 'The message signature does not verify with the sender key.' },
  UNKNOWN_SENDER: { http: 401, message: 'The message sender is not a registered participant.' },
  WRONG_RECEIVER: { http: 400, message: 'The message is addressed to another node.' },
  MESSAGE_EXPIRED: { http: 400, message: 'The message has expired; send a new one.' },
  MESSAGE_FROM_FUTURE: { http: 400, message: 'The message is dated in the future; check the sender clock.' },
  MESSAGE_REPLAYED: { http: 409, message: 'This message was already received; a message is accepted once.' },
  UNKNOWN_MESSAGE_TYPE: { http: 400, message: 'This node does not handle that message type.' },
  KEY_RETIRED: {
    http: 401,
    message:
      'The message is signed with a key its node has retired; the node must sign with its current key.',
  },
  KEY_ROTATION_INVALID: {
    http: 422,
    message:
      'The key rotation was refused: it must be signed by the current key and by the new key, and be fresh; see the message.',
  },
  PEER_CERTIFICATE_MISMATCH: {
    http: 502,
    message:
      'The other node presented a TLS certificate other than the one pinned for it; nothing was sent. Check its certificate and the pinned SHA-256 fingerprint.',
  },
  // Participants and routing
  PARTICIPANT_NOT_FOUND: { http: 404, message: 'No participant with that id or routing prefix.' },
  OVERLOADED: {
    http: 503,
    message: 'This node is at capacity right now; nothing was done. Retry after the time in Retry-After.',
  },
  PARTICIPANT_UNREACHABLE: { http: 502, message: 'The other processor did not answer; retry later.' },
  CURRENCY_NOT_SUPPORTED: { http: 422, message: 'That currency is not supported here.' },
  ALIAS_NOT_FOUND: { http: 404, message: 'No processor serves that phone number or address.' },
  // Payment requests
  REQUEST_NOT_FOUND: { http: 404, message: 'No payment request matches that code.' },
  REQUEST_EXPIRED: { http: 410, message: 'The payment request has expired; ask the merchant for a new one.' },
  REQUEST_ALREADY_PAID: { http: 409, message: 'The payment request was already paid.' },
  REQUEST_CANCELLED: { http: 410, message: 'The payment request was cancelled by the merchant.' },
  REQUEST_TOKEN_INVALID: {
    http: 400,
    message: 'The payment request token is invalid or not signed by its processor.',
  },
  TICKET_INVALID: {
    http: 422,
    message: 'The ticket is not a valid ticket of this merchant, signed by this processor and paid.',
  },
  TICKET_ALREADY_USED: { http: 409, message: 'This ticket was already used; a ticket is accepted once.' },
  CODE_INVALID: { http: 400, message: 'Not a SEMOPS payment code, link, QR payload or token.' },
  AMOUNT_REQUIRED: { http: 400, message: 'This request lets the payer choose the amount; enter one.' },
  AMOUNT_INVALID: { http: 400, message: 'The amount is not a positive number of minor units in range.' },
  AMOUNT_OUT_OF_RANGE: {
    http: 422,
    message: 'The amount is outside the minimum and maximum of the request.',
  },
  AMOUNT_MISMATCH: { http: 422, message: 'The amount does not match the payment request.' },
  CURRENCY_MISMATCH: { http: 422, message: 'The currency does not match the account or request.' },
  PAYEE_MISMATCH: { http: 422, message: 'The payee does not match the payment request.' },
  // Customers, devices, PINs
  CUSTOMER_NOT_FOUND: { http: 404, message: 'No such customer.' },
  CUSTOMER_EXISTS: { http: 409, message: 'A customer with this phone number already exists.' },
  ACTIVATION_INVALID: {
    http: 401,
    message: 'The phone number or activation code is wrong, or the code was used.',
  },
  DEVICE_NOT_FOUND: { http: 401, message: 'This device is not enrolled; enrol it first.' },
  DEVICE_BLOCKED: { http: 403, message: 'This device is blocked; enrol a new device.' },
  DEVICE_KEY_INVALID: { http: 400, message: 'The device public key is not a valid Ed25519 JWK.' },
  PIN_FORMAT: { http: 400, message: 'A PIN is 4 to 6 digits.' },
  PIN_INVALID: { http: 401, message: 'Wrong PIN.' },
  PIN_LOCKED: { http: 423, message: 'The PIN is locked after too many wrong tries; contact your processor.' },
  ACCOUNT_BLOCKED: { http: 403, message: 'The account is blocked; contact your processor.' },
  // Approvals
  APPROVAL_INVALID: {
    http: 401,
    message: 'The approval is not signed by an enrolled device of this customer.',
  },
  APPROVAL_EXPIRED: { http: 400, message: 'The approval has expired; approve again.' },
  APPROVAL_REPLAYED: { http: 409, message: 'This approval was already used; an approval pays once.' },
  RESOLVE_FIRST: { http: 409, message: 'Resolve the payment request before approving it.' },
  CONFIRMATION_NOT_FOUND: {
    http: 409,
    message:
      'Nothing from this phone is waiting for a PIN (it was used, cancelled or never asked); start again.',
  },
  // Money
  INSUFFICIENT_FUNDS: { http: 422, message: 'Not enough money in the account for this payment.' },
  LIMIT_EXCEEDED: { http: 422, message: 'The payment exceeds a limit of the account.' },
  LIMIT_ABOVE_TIER: { http: 422, message: 'A limit you set cannot exceed the limit of your tier.' },
  VOUCHER_INVALID: { http: 404, message: 'This voucher code is not valid.' },
  VOUCHER_USED: { http: 409, message: 'This voucher code has already been used.' },
  NET_DEBIT_CAP_EXCEEDED: {
    http: 422,
    message: 'The payer processor has not enough liquidity at the hub for this payment; retry later.',
  },
  // Transfers and payments
  TRANSFER_NOT_FOUND: { http: 404, message: 'No such transfer.' },
  TRANSFER_EXPIRED: { http: 410, message: 'The transfer expired before it was fulfilled and was aborted.' },
  TRANSFER_CONFLICT: { http: 409, message: 'A transfer with this id exists with other content.' },
  TRANSFER_REJECTED: { http: 422, message: 'The payee processor rejected the transfer.' },
  PAYMENT_NOT_FOUND: { http: 404, message: 'No such payment.' },
  REFUND_EXCEEDS_PAYMENT: {
    http: 422,
    message: 'The refunds would exceed the paid amount; refund at most what is left.',
  },
  MERCHANT_NOT_FOUND: { http: 404, message: 'No such merchant.' },
  // Currency conversion, fees and settlement
  QUOTE_EXPIRED: {
    http: 409,
    message: 'The exchange-rate quote has expired; check the new quote and approve again.',
  },
  QUOTE_NOT_FOUND: { http: 404, message: 'No such quote for this customer and request; quote again.' },
  QUOTE_MISMATCH: {
    http: 409,
    message: 'The approval does not match the quote shown (request, amount or currency); quote again.',
  },
  RATE_NOT_AVAILABLE: {
    http: 422,
    message: 'This processor has no exchange rate for that currency pair; pay in your own currency.',
  },
  RATES_FILE_INVALID: { http: 422, message: 'The rates file could not be read; see details for the line.' },
  FEE_SCHEDULE_INVALID: { http: 422, message: 'The fee schedule is not valid; see details.' },
  WINDOW_NOT_FOUND: { http: 404, message: 'No settlement window with that id.' },
  WINDOW_EMPTY: { http: 409, message: 'The open settlement window has no transfers yet; nothing to close.' },
  // Bills and airtime
  BILLER_NOT_FOUND: { http: 404, message: 'No biller has that biller code.' },
  BILLER_CODE_TAKEN: { http: 409, message: 'That biller code is already registered.' },
  ACCOUNT_REFERENCE_INVALID: {
    http: 422,
    message: 'The account number does not have the form this biller expects.',
  },
  AIRTIME_NOT_AVAILABLE: {
    http: 404,
    message: 'No mobile operator on the network serves that phone number.',
  },
  // Mandates (scheduled and recurring payments)
  MANDATE_NOT_FOUND: { http: 404, message: 'No such mandate of this customer.' },
  MANDATE_EXCEEDS_BOUND: {
    http: 422,
    message: 'The instalment amount exceeds the maximum the mandate allows.',
  },
  // Agents (cash-in and cash-out)
  AGENT_NOT_FOUND: { http: 404, message: 'No such agent.' },
  CASH_IN_NOT_SUPPORTED: {
    http: 422,
    message: 'Cash-in is only for customers of this processor; the customer can visit an agent of their own.',
  },
  // The demo's example shop and phone simulator (packages/cli)
  PRICE_CHANGED: {
    http: 409,
    message: 'The price changed since the page was loaded; reload the page to see the new price.',
  },
  USSD_SESSION_NOT_FOUND: {
    http: 404,
    message: 'No USSD session is open with this id (it ended or timed out). Dial the service code again.',
  },
  USSD_SESSION_BUSY: {
    http: 409,
    message: 'The previous step of this USSD session is still running; wait for its answer.',
  },
  USSD_SESSION_OTHER_PHONE: {
    http: 409,
    message: 'This USSD session belongs to another phone number; dial the service code again.',
  },
} as const satisfies Record<string, { http: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The JSON body of every error response: `{ "error": { "code", "message", "details"? } }`. */
export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly details?: unknown };
}

/** The one error class for expected failures; the HTTP edge maps `code` to status and body. */
export class SemopsError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  constructor(code: ErrorCode, message?: string, details?: unknown, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'SemopsError';
    this.code = code;
    this.details = details;
  }
  get http(): number {
    return ERRORS[this.code].http;
  }
  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERRORS, s);
}

/** Rebuilds a typed error from an error body received over HTTP (for clients). */
export function errorFromBody(body: unknown, fallbackStatus = 500): SemopsError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (e && isErrorCode(e.code)) {
    return new SemopsError(e.code, typeof e.message === 'string' ? e.message : undefined, e.details);
  }
  return new SemopsError(fallbackStatus >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED', `HTTP ${fallbackStatus}`);
}
