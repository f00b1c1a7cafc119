import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, parse, perCredential, safeEqual, type IdempotencyStore } from '@semops/node';
import { SemopsError, currencyCode, minorUnits, moneyWire, requestId } from '@semops/protocol';
import type { MerchantService } from '../merchants/service.js';
import type { RequestService } from './service.js';

const createRequest = z
  .strictObject({
    currency: currencyCode,
    amount: moneyWire.optional(),
    minAmount: moneyWire.optional(),
    maxAmount: moneyWire.optional(),
    reference: z.string().trim().min(1).max(140),
    description: z.string().max(500).optional(),
    expiresInSeconds: z.number().int().min(1).max(86_400).default(900),
    reusable: z.boolean().default(false),
    /** Use cases: a parking zone (optionally with a per-minute tariff) or an event ticket. */
    kind: z.enum(['parking', 'ticket']).optional(),
    zone: z.string().trim().min(1).max(80).optional(),
    event: z.string().trim().min(1).max(140).optional(),
    tariff: z
      .strictObject({
        perMinute: minorUnits,
        minMinutes: z.number().int().min(1).max(525_600),
        maxMinutes: z.number().int().min(1).max(525_600),
      })
      .refine((t) => t.minMinutes <= t.maxMinutes, 'minMinutes must not exceed maxMinutes')
      .optional(),
    /** Online checkout: where the wallet may send the customer back after paying. */
    returnUrl: z
      .string()
      .max(2000)
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'an http or https URL')
      .optional(),
  })
  .refine((r) => r.kind !== 'parking' || r.zone !== undefined, {
    message: 'a parking request needs a zone',
    path: ['zone'],
  })
  .refine((r) => r.kind !== 'ticket' || r.event !== undefined, {
    message: 'a ticket request needs an event',
    path: ['event'],
  })
  .refine((r) => r.zone === undefined || r.kind === 'parking', {
    message: 'zone is for parking requests',
    path: ['zone'],
  })
  .refine((r) => r.event === undefined || r.kind === 'ticket', {
    message: 'event is for ticket requests',
    path: ['event'],
  })
  .refine((r) => !r.tariff || r.kind === 'parking', {
    message: 'a tariff is for parking requests',
    path: ['tariff'],
  })
  .refine((r) => !(r.tariff && (r.amount || r.minAmount || r.maxAmount)), {
    message: 'give either a tariff or amounts, not both',
    path: ['tariff'],
  })
  .refine(
    (r) => !(r.amount && (r.minAmount || r.maxAmount)),
    'give either amount or minAmount/maxAmount, not both',
  )
  .refine(
    (r) => [r.amount, r.minAmount, r.maxAmount].every((m) => m === undefined || m.currency === r.currency),
    'every amount must be in the request currency',
  );
const params = z.strictObject({ id: requestId });
const validateTicket = z.strictObject({ ticket: z.string().min(1).max(16_000) });
/**
 * EventSource cannot send headers, and a merchant key must never sit in a URL (logs, history, referrers): the
 * events stream takes a short-lived ticket for one request instead, from `POST …/events/ticket`.
 */
const eventsQuery = z.strictObject({
  ticket: z
    .string()
    .regex(/^[\w-]{20,400}\.[\w-]{43}$/, 'an events ticket from POST /v1/requests/:id/events/ticket')
    .optional(),
});
/** How long an events ticket opens (and reopens) the stream. */
export const EVENTS_TICKET_TTL_MS = 10 * 60_000;

/** A ticket: `<base64url {m, r, exp}>.<HMAC-SHA256 of it>`, checked without state by any instance. */
function makeTicket(key: string, merchantId: string, requestId: string, exp: number): string {
  const body = Buffer.from(JSON.stringify({ m: merchantId, r: requestId, exp })).toString('base64url');
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

function openTicket(key: string, ticket: string, requestId: string, now: number): string {
  const [body = '', mac = ''] = ticket.split('.');
  const want = createHmac('sha256', key).update(body).digest('base64url');
  if (!safeEqual(mac, want)) throw new SemopsError('UNAUTHORIZED', 'The events ticket is not valid.');
  const t = JSON.parse(Buffer.from(body, 'base64url').toString()) as { m: string; r: string; exp: number };
  if (t.r !== requestId) throw new SemopsError('UNAUTHORIZED', 'The events ticket is for another request.');
  if (t.exp <= now)
    throw new SemopsError('UNAUTHORIZED', 'The events ticket has expired; ask for a new one.');
  return t.m;
}

export function registerRequestRoutes(
  app: FastifyInstance,
  deps: {
    merchants: MerchantService;
    requests: RequestService;
    idempotency: IdempotencyStore;
    /** Signs events tickets (a node secret shared by its instances). */
    ticketKey: string;
    now?: () => number;
  },
): void {
  const { merchants, requests, ticketKey } = deps;
  const now = deps.now ?? Date.now;

  app.post(
    '/v1/requests',
    { config: { rateLimit: perCredential(60_000, 'merchant-requests') } },
    async (req, reply) => {
      const m = await merchants.authenticate(bearer(req), 'till');
      const body = parse(createRequest, req.body);
      const key = req.headers['idempotency-key'] as string | undefined;
      const view = await deps.idempotency.run(`requests.${m.id}`, key, body, () =>
        requests.create(m, {
          currency: body.currency,
          ...(body.amount ? { amount: BigInt(body.amount.value) } : {}),
          ...(body.minAmount ? { minAmount: BigInt(body.minAmount.value) } : {}),
          ...(body.maxAmount ? { maxAmount: BigInt(body.maxAmount.value) } : {}),
          reference: body.reference,
          ...(body.description ? { description: body.description } : {}),
          expiresInSeconds: body.expiresInSeconds,
          reusable: body.reusable,
          ...(body.kind ? { kind: body.kind } : {}),
          ...(body.zone ? { zone: body.zone } : {}),
          ...(body.event ? { event: body.event } : {}),
          ...(body.tariff
            ? {
                tariff: {
                  perMinute: BigInt(body.tariff.perMinute),
                  minMinutes: body.tariff.minMinutes,
                  maxMinutes: body.tariff.maxMinutes,
                },
              }
            : {}),
          ...(body.returnUrl ? { returnUrl: body.returnUrl } : {}),
        }),
      );
      return reply.code(201).send(view);
    },
  );

  /** A gate scanner: checks a ticket this merchant sold and accepts it once. */
  app.post('/v1/tickets/validate', async (req) => {
    const m = await merchants.authenticate(bearer(req), 'till');
    const { ticket } = parse(validateTicket, req.body);
    return requests.validateTicket(m, ticket);
  });

  app.get('/v1/requests/:id', async (req) => {
    const m = await merchants.authenticate(bearer(req), 'till');
    const { id } = parse(params, req.params);
    return requests.get(m, id);
  });

  app.post('/v1/requests/:id/cancel', async (req) => {
    const m = await merchants.authenticate(bearer(req), 'till');
    const { id } = parse(params, req.params);
    return requests.cancel(m, id);
  });

  /** A ticket that opens the events stream of one request for a few minutes (for EventSource). */
  app.post('/v1/requests/:id/events/ticket', async (req) => {
    const m = await merchants.authenticate(bearer(req), 'till');
    const { id } = parse(params, req.params);
    await requests.get(m, id);
    const expiresAt = now() + EVENTS_TICKET_TTL_MS;
    return { ticket: makeTicket(ticketKey, m.id, id, expiresAt), expiresAt };
  });

  /** Server-sent events: the request's status now, then on every change, until it is final. */
  app.get('/v1/requests/:id/events', async (req, reply) => {
    const { ticket } = parse(eventsQuery, req.query ?? {});
    const { id } = parse(params, req.params);
    const token = bearer(req);
    const m =
      token !== undefined || ticket === undefined
        ? await merchants.authenticate(token, 'till')
        : await merchants.get(openTicket(ticketKey, ticket, id, now()));
    const first = await requests.get(m, id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'access-control-allow-origin': '*',
    });
    let closed = false;
    const send = (view: Awaited<ReturnType<RequestService['get']>>) => {
      if (closed) return;
      res.write(`event: status\ndata: ${JSON.stringify(view)}\n\n`);
      if (requests.isFinal(view.status)) finish();
    };
    const listener = (view: Awaited<ReturnType<RequestService['get']>>) => send(view);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const expiry = setTimeout(
      () => void requests.get(m, id).then(send, () => finish()),
      Math.max(0, Math.min(first.expiresAt - Date.now() + 50, 2_147_483_000)),
    );
    function finish() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(expiry);
      requests.events.off(id, listener);
      res.end();
    }
    requests.events.on(id, listener);
    req.raw.on('close', finish);
    send(first);
  });
}
