/**
 * Turns whatever the customer's phone captured — a signed token, a QR payload, a deep link or a typed short
 * code — into a reference to a payment request.
 */
import { SemopsError, decodeEmvQr, isShortCode, parseDeepLink, type RequestRef } from '@semops/protocol';

const PROCESSOR_RE = /^[a-z][a-z0-9-]{1,31}$/;
const REQUEST_RE = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

export function parseCode(input: string): RequestRef {
  const code = input.trim();
  const digits = code.replace(/[\s-]/g, '');
  if (/^\d+$/.test(digits)) {
    if (!isShortCode(digits))
      throw new SemopsError('CODE_INVALID', 'The payment code has a typo; check the 10 digits.');
    return { shortCode: digits };
  }
  if (/^(semops|https?):/i.test(code)) {
    const c = parseDeepLink(code);
    return c.kind === 'request'
      ? { processorId: c.processorId, requestId: c.requestId }
      : { shortCode: c.shortCode };
  }
  if (code.startsWith('000201')) {
    const qr = decodeEmvQr(code);
    if (!PROCESSOR_RE.test(qr.processorId) || !REQUEST_RE.test(qr.requestId)) {
      throw new SemopsError('CODE_INVALID', 'The QR code names no valid SEMOPS request.');
    }
    return { processorId: qr.processorId, requestId: qr.requestId };
  }
  const parts = code.split('.');
  if (parts.length === 3) {
    // A request token: only its names are used; the request itself is fetched fresh and its signature checked.
    try {
      const payload = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as {
        processorId?: unknown;
        requestId?: unknown;
      };
      if (
        typeof payload.processorId === 'string' &&
        PROCESSOR_RE.test(payload.processorId) &&
        typeof payload.requestId === 'string' &&
        REQUEST_RE.test(payload.requestId)
      ) {
        return { processorId: payload.processorId, requestId: payload.requestId };
      }
    } catch {
      // fall through to the error below
    }
    throw new SemopsError('REQUEST_TOKEN_INVALID');
  }
  throw new SemopsError('CODE_INVALID');
}
