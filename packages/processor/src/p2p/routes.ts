import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, parse, perCredential } from '@semops/node';
import { idPattern, moneyWire, phoneNumber } from '@semops/protocol';
import type { CustomerService } from '../customers/service.js';
import { signedAction } from '../customers/account-routes.js';
import type { NotificationService } from '../notifications/service.js';
import { ADDRESS_RE, type P2pService } from './service.js';

const party = z.union([
  phoneNumber,
  z.string().regex(ADDRESS_RE, 'a phone number in E.164 form or a name@processor address'),
]);
const resolveBody = z.strictObject({ to: party });
const aliasBody = z.strictObject({
  alias: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,31}$/, '2 to 32 of a-z, 0-9, ".", "-" and "_"'),
});
const requestBody = z.strictObject({
  from: party,
  amount: moneyWire,
  note: z.string().trim().max(140).optional(),
});
const inboxParams = z.strictObject({ id: z.string().regex(idPattern('inb'), 'an inbox item id inb_…') });
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

/** Wallet endpoints for P2P send, request money, the inbox and notifications. */
export function registerP2pRoutes(
  app: FastifyInstance,
  deps: {
    customers: CustomerService;
    p2p: P2pService;
    notifications: NotificationService;
    processorId: string;
  },
): void {
  const { customers, p2p } = deps;

  // Who holds a phone number: limited, so that the directory cannot be walked.
  app.post(
    '/v1/wallet/p2p/resolve',
    { config: { rateLimit: perCredential(30, 'p2p-lookup') } },
    async (req) => {
      const { customer } = await customers.authenticate(bearer(req));
      const { to } = parse(resolveBody, req.body);
      return p2p.resolve(customer, to);
    },
  );

  /** Sets the phone-less alias: a device-signed `alias.set` action with the current PIN. */
  app.post('/v1/wallet/alias', { config: { rateLimit: perCredential(10, 'credential') } }, async (req) => {
    const auth = await customers.authenticate(bearer(req));
    const { action } = parse(signedAction, req.body);
    const { params } = await customers.authorizeAction(auth, action, 'alias.set');
    const { alias } = parse(aliasBody, params);
    return customers.setAlias(auth.customer.id, alias, deps.processorId);
  });

  app.post(
    '/v1/wallet/p2p/requests',
    { config: { rateLimit: perCredential(60, 'p2p-request') } },
    async (req, reply) => {
      const { customer } = await customers.authenticate(bearer(req));
      const body = parse(requestBody, req.body);
      return reply.code(201).send(await p2p.requestMoney(customer, body.from, body.amount, body.note));
    },
  );

  app.get('/v1/wallet/inbox', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { limit } = parse(listQuery, req.query ?? {});
    return { items: await p2p.inbox(customer, limit) };
  });

  app.post('/v1/wallet/inbox/:id/decline', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { id } = parse(inboxParams, req.params);
    return p2p.decline(customer, id);
  });

  app.get('/v1/wallet/notifications', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { limit } = parse(listQuery, req.query ?? {});
    return { notifications: await deps.notifications.list(customer.id, limit) };
  });
}
