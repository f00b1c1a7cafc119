/**
 * Trace ids: every HTTP request a node answers gets one, taken from the caller's `traceparent` (W3C Trace
 * Context: its 32-hex trace id) or `x-request-id` header, or made here. Fastify uses it as the request id, so
 * `req.log` (a pino child logger) writes it as `traceId` on every line, and the answer carries it back in
 * `x-request-id`. A payer processor passes the trace id of a wallet's approval on in its prepare
 * (`TransferPrepare.traceId`), so the hub's and the payee's log lines for that payment carry it too.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { TRACE_ID_PATTERN } from '@semops/protocol';

/** The header a node reads a caller's request id from, and answers every request's trace id in. */
export const TRACE_HEADER = 'x-request-id';

/** `version-traceid-parentid-flags`; the all-zero trace id is invalid. */
const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** A new trace id: 32 hex digits, as a W3C trace id. */
export function newTraceId(): string {
  return randomUUID().replaceAll('-', '');
}

/**
 * The trace id of a request: the trace id of a valid `traceparent`, else a well-formed `x-request-id`
 * (`TRACE_ID_PATTERN`: at most 64 letters, digits or `. _ : -`), else a new one.
 * @example traceIdOf({ 'x-request-id': 'checkout-42' }) // 'checkout-42'
 */
export function traceIdOf(headers: IncomingHttpHeaders): string {
  const parent = headers.traceparent;
  if (typeof parent === 'string') {
    const id = TRACEPARENT.exec(parent.trim().toLowerCase())?.[1];
    if (id !== undefined && !/^0+$/.test(id)) return id;
  }
  const given = headers[TRACE_HEADER];
  if (typeof given === 'string' && TRACE_ID_PATTERN.test(given)) return given;
  return newTraceId();
}
