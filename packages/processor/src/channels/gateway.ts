/**
 * The edge towards the operator's SMS and USSD gateways: the adapter interface an SMS provider plugs into,
 * the webhook formats we read (Africa's Talking field names, Twilio's as aliases), phone numbers, and the
 * shared secret that authenticates the gateway.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parse, safeEqual, sha256 } from '@semops/node';
import { SemopsError } from '@semops/protocol';

/** Header that carries the gateway's shared secret on every webhook call. */
export const GATEWAY_TOKEN_HEADER = 'x-gateway-token';

/** One text message received from a phone. */
export interface InboundSms {
  /** The gateway's id of the message, when it gives one: a webhook retried with the same id is ignored. */
  readonly gatewayId?: string;
  /** The customer's phone number, E.164. */
  readonly from: string;
  /** The short code or number the customer wrote to. */
  readonly to: string;
  readonly text: string;
}

/**
 * An SMS provider. The default adapter keeps messages in the node's database (./sms/store.ts); a real one
 * calls the provider's API in `send` and reads its webhook in `parseInbound`.
 */
export interface SmsGateway {
  /** Hands a text to the network for delivery to `to` (E.164). */
  send(to: string, text: string): Promise<void>;
  /** Reads the provider's inbound-message webhook body; throws VALIDATION_FAILED when it is not one. */
  parseInbound(body: unknown): InboundSms;
}

/**
 * A phone number in E.164 form from what gateways and people write: `+43 660 123`, `0043660123`,
 * `43660123` (gateways often drop the `+`). Undefined when it cannot be one.
 */
export function normalizePhone(raw: string): string | undefined {
  let s = raw.trim().replace(/[\s().-]/g, '');
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  else if (/^\d/.test(s)) s = `+${s}`;
  return /^\+[1-9]\d{6,14}$/.test(s) ? s : undefined;
}

const phone = z
  .string()
  .max(32)
  .refine((s) => normalizePhone(s) !== undefined, 'a phone number with country code')
  .transform((s) => normalizePhone(s) ?? s);

/** First present field among aliases (`text` or `message` or Twilio's `Body`). */
function pick(body: Record<string, unknown>, names: readonly string[]): unknown {
  for (const n of names) if (body[n] !== undefined) return body[n];
  return undefined;
}

const inboundSms = z.object({
  gatewayId: z.string().trim().min(1).max(100).optional(),
  from: phone,
  to: z.string().trim().min(1).max(32),
  text: z.string().max(1600),
});

/**
 * Reads the common inbound-SMS webhook formats, as JSON or form fields: Africa's Talking (`from`, `to`,
 * `text`, `id`), the generic `message` for `text`, and Twilio (`From`, `To`, `Body`, `MessageSid`).
 */
export function parseInboundSms(body: unknown): InboundSms {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const m = parse(inboundSms, {
    gatewayId: pick(b, ['id', 'messageId', 'MessageSid']),
    from: pick(b, ['from', 'From']),
    to: pick(b, ['to', 'To']),
    text: pick(b, ['text', 'message', 'Body']),
  });
  return { ...(m.gatewayId ? { gatewayId: m.gatewayId } : {}), from: m.from, to: m.to, text: m.text };
}

/** One USSD request: the session, the code dialled, the phone, and everything typed so far joined by `*`. */
export interface UssdRequest {
  readonly sessionId: string;
  readonly serviceCode: string;
  readonly phoneNumber: string;
  readonly text: string;
}

const ussdRequest = z.object({
  sessionId: z.string().trim().min(1).max(100),
  serviceCode: z.string().trim().max(40).default(''),
  phoneNumber: phone,
  text: z.string().max(400).default(''),
});

/** Reads a USSD gateway request in the Africa's Talking format (JSON or form fields). */
export function parseUssdRequest(body: unknown): UssdRequest {
  return parse(ussdRequest, typeof body === 'object' && body !== null ? body : {});
}

/** Throws UNAUTHORIZED unless the request carries the gateway's shared secret. */
export function requireGateway(req: FastifyRequest, token: string): void {
  const t = req.headers[GATEWAY_TOKEN_HEADER];
  if (typeof t !== 'string' || !safeEqual(sha256(t), sha256(token))) throw new SemopsError('UNAUTHORIZED');
}

/**
 * Gateways post HTML form fields; the rest of the node takes JSON only, so the form parser is added to the
 * channel routes' own scope.
 */
export function acceptFormBodies(scope: FastifyInstance): void {
  scope.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
}
