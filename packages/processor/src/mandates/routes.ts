import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, parse } from '@semops/node';
import { compactJws } from '@semops/protocol';
import type { CustomerService } from '../customers/service.js';
import type { MandateService } from './service.js';

const createBody = z.strictObject({ mandate: compactJws });
const params = z.strictObject({ id: z.string().regex(/^mdt_[0-9A-Z]{26}$/, 'a mandate id mdt_…') });

/** The customer's mandates: approve once (device signature + PIN), list with instalments, cancel. */
export function registerMandateRoutes(
  app: FastifyInstance,
  deps: { customers: CustomerService; mandates: MandateService },
): void {
  const { customers, mandates } = deps;

  app.post('/v1/wallet/mandates', async (req, reply) => {
    const auth = await customers.authenticate(bearer(req));
    const { mandate } = parse(createBody, req.body);
    return reply.code(201).send(await mandates.create(auth, mandate));
  });

  app.get('/v1/wallet/mandates', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    return { mandates: await mandates.list(customer) };
  });

  app.get('/v1/wallet/mandates/:id', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    return mandates.get(customer, parse(params, req.params).id);
  });

  app.post('/v1/wallet/mandates/:id/cancel', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    return mandates.cancel(customer, parse(params, req.params).id);
  });
}
