/**
 * HTTP edge of the SMS and USSD channels. The operator's gateways call the webhooks with the shared secret
 * `<dataDir>/secrets/sms-gateway-token.secret` in `X-Gateway-Token`; the operator reads the stored texts.
 *
 *   POST /v1/channels/sms/inbound   an inbound text (JSON or form) → `{ received, duplicate, replies, code? }`
 *   POST /v1/channels/ussd          a USSD step (JSON or form) → `text/plain` `CON …` / `END …`, with the
 *                                   header `X-Semops-Code` when the screen reports a failure
 *
 * `code` is the stable error code (`@semops/protocol` ERRORS) of the failure a reply reports, for the
 * gateway's and the operator's records; the customer reads the text.
 *   GET  /v1/admin/sms              stored texts (`?to=`, `?from=`, `?phone=`, `?before=`, `?limit=`)
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Ledger } from '@semops/ledger';
import { SemopsError } from '@semops/protocol';
import { loadOrCreateSecret, parse, requireAdmin, type AuditLog, type Sql, type Log } from '@semops/node';
import type { CustomerService } from '../customers/service.js';
import type { PaymentService } from '../payments/service.js';
import type { P2pService } from '../p2p/service.js';
import type { BillService } from '../bills/service.js';
import type { LimitService } from '../limits/service.js';
import type { StatementDeps } from '../customers/statement.js';
import { createChannelCore, type Said } from './core.js';
import {
  acceptFormBodies,
  normalizePhone,
  parseUssdRequest,
  requireGateway,
  type SmsGateway,
} from './gateway.js';
import { createSmsService } from './sms/service.js';
import { createSmsStore, createStoredSmsGateway } from './sms/store.js';
import { createUssdMenu } from './ussd/menu.js';

export interface ChannelDeps {
  readonly q: Sql;
  /** The node's data directory: the gateway secret lives in its `secrets/`. */
  readonly dataDir: string;
  readonly customers: CustomerService;
  readonly payments: PaymentService;
  readonly p2p: P2pService;
  /** Bills by biller code and airtime (by default neither is offered). */
  readonly bills?: BillService;
  readonly limits?: LimitService;
  readonly ledger: Ledger;
  /** Who is on the other side of each mini-statement line (default: `q` and `ledger` alone). */
  readonly statement?: StatementDeps;
  readonly adminToken: string;
  readonly now: () => number;
  readonly log: Log;
  /** Sender id of outbound texts (default `SEMOPS`). */
  readonly smsSender?: string;
  /** A real SMS provider; by default texts are kept in the database. */
  readonly smsGateway?: SmsGateway;
  /** Where blocks from a phone are recorded. */
  readonly audit?: AuditLog;
}

/** The header of a USSD answer that carries the stable code of the failure the screen reports. */
export const CODE_HEADER = 'x-semops-code';

const phoneQuery = z
  .string()
  .max(32)
  .refine((s) => normalizePhone(s) !== undefined, 'a phone number with country code')
  .transform((s) => normalizePhone(s) ?? s);
const smsQuery = z.strictObject({
  to: phoneQuery.optional(),
  from: phoneQuery.optional(),
  phone: phoneQuery.optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/**
 * Registers the channel routes in their own scope (they also take form bodies).
 * @example await registerChannelRoutes(app, { db, dataDir, customers, payments, ledger, adminToken, now, log });
 */
export async function registerChannelRoutes(app: FastifyInstance, deps: ChannelDeps): Promise<void> {
  const gatewayToken = loadOrCreateSecret(join(deps.dataDir, 'secrets'), 'sms-gateway-token');
  const store = createSmsStore(deps.q, deps.now);
  const gateway = deps.smsGateway ?? createStoredSmsGateway(store, deps.smsSender ?? 'SEMOPS');
  const core = createChannelCore({
    ...deps,
    statement: deps.statement ?? { q: deps.q, ledger: deps.ledger },
  });
  const sms = createSmsService({ q: deps.q, core, store, gateway, now: deps.now, log: deps.log });
  const ussd = createUssdMenu({ q: deps.q, core, customers: deps.customers, now: deps.now });

  await app.register(async (scope) => {
    acceptFormBodies(scope);

    scope.post('/v1/channels/sms/inbound', async (req) => {
      requireGateway(req, gatewayToken);
      const m = gateway.parseInbound(req.body);
      const r = await sms.receive(m);
      return { received: true, ...r };
    });

    scope.post('/v1/channels/ussd', async (req, reply) => {
      requireGateway(req, gatewayToken);
      const r = parseUssdRequest(req.body);
      let screen: Said;
      try {
        screen = await ussd.handle(r);
      } catch (e) {
        // Logged without the session's input: it may hold a PIN.
        deps.log.error({ err: e instanceof Error ? e.name : 'unknown' }, 'ussd step failed');
        screen = {
          text: 'END The service is busy. Please try again later.',
          code: e instanceof SemopsError ? e.code : 'INTERNAL',
        };
      }
      if (screen.code) reply.header(CODE_HEADER, screen.code);
      return reply.type('text/plain; charset=utf-8').send(screen.text);
    });

    scope.get('/v1/admin/sms', async (req) => {
      requireAdmin(req, deps.adminToken);
      const q = parse(smsQuery, req.query ?? {});
      const phone = q.to ?? q.from ?? q.phone;
      const direction = q.to ? 'out' : q.from ? 'in' : undefined;
      return {
        messages: await store.list({
          ...(phone ? { phone } : {}),
          ...(direction ? { direction } : {}),
          ...(q.before ? { before: q.before } : {}),
          limit: q.limit,
        }),
      };
    });
  });
}
