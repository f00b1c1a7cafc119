/**
 * The simulator's error codes: one table, so a code without a status or message does not compile. The HTTP
 * edge answers every failure as `{ error: { code, message } }`.
 */

export type SimulatorErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'SESSION_NOT_FOUND'
  | 'SESSION_BUSY'
  | 'SESSION_OTHER_PHONE'
  | 'GATEWAY_FAILED'
  | 'INTERNAL';

export const SIMULATOR_ERRORS: Readonly<
  Record<SimulatorErrorCode, { readonly http: number; readonly message: string }>
> = {
  VALIDATION_FAILED: { http: 400, message: 'The request is not valid.' },
  MALFORMED_JSON: { http: 400, message: 'Send a JSON object.' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, message: 'Send JSON (Content-Type: application/json).' },
  PAYLOAD_TOO_LARGE: { http: 413, message: 'The request body is too large.' },
  FORBIDDEN: { http: 403, message: 'The phone simulator answers only pages it served on this machine.' },
  NOT_FOUND: { http: 404, message: 'Nothing here.' },
  METHOD_NOT_ALLOWED: { http: 405, message: 'That method is not allowed here.' },
  SESSION_NOT_FOUND: {
    http: 404,
    message: 'No USSD session is open with this id (it ended or timed out). Dial the service code again.',
  },
  SESSION_BUSY: { http: 409, message: 'The previous step of this USSD session is still running.' },
  SESSION_OTHER_PHONE: { http: 409, message: 'This USSD session belongs to another phone number.' },
  GATEWAY_FAILED: { http: 502, message: 'The processor did not answer the gateway call.' },
  INTERNAL: { http: 500, message: 'The phone simulator failed; see its log.' },
};

/** An expected failure of the simulator, answered with the status of its code. */
export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';
  readonly http: number;

  constructor(
    readonly code: SimulatorErrorCode,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? SIMULATOR_ERRORS[code].message, options);
    this.http = SIMULATOR_ERRORS[code].http;
  }
}
