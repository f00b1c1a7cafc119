import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, parse, requireAdmin, type IdempotencyStore } from '@semops/node';
import { currencyCode } from '@semops/protocol';
import type { MerchantService } from './service.js';
import type { RequestService } from '../requests/service.js';

const createMerchant = z.strictObject({
  name: z.string().trim().min(1).max(100),
  city: z.string().trim().min(1).max(60),
  category: z.string().regex(/^\d{4}$/, 'a 4-digit merchant category code (MCC)'),
  currency: currencyCode,
  webhookUrl: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .optional(),
});
const tillKeyBody = z.strictObject({ label: z.string().trim().min(1).max(60) });
const keyParams = z.strictObject({
  id: z.string().regex(/^rkid_[A-Za-z0-9_-]{1,40}$/, 'a till key id rkid_…'),
});
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

export function registerMerchantRoutes(
  app: FastifyInstance,
  deps: {
    merchants: MerchantService;
    requests: RequestService;
    adminToken: string;
    idempotency: IdempotencyStore;
  },
): void {
  app.post('/v1/admin/merchants', async (req, reply) => {
    requireAdmin(req, deps.adminToken);
    const body = parse(createMerchant, req.body);
    const key = req.headers['idempotency-key'] as string | undefined;
    const result = await deps.idempotency.run('admin.merchants', key, body, () =>
      deps.merchants.create(body),
    );
    return reply.code(201).send(result);
  });

  app.get('/v1/merchant/payments', async (req) => {
    const m = await deps.merchants.authenticate(bearer(req), 'till');
    const { limit } = parse(listQuery, req.query ?? {});
    return { payments: await deps.requests.listIncoming(m, limit) };
  });

  // Till keys: only the merchant's secret key manages them.
  app.post('/v1/merchant/keys', async (req, reply) => {
    const m = await deps.merchants.authenticate(bearer(req));
    const { label } = parse(tillKeyBody, req.body);
    return reply.code(201).send(await deps.merchants.createTillKey(m, label));
  });
  app.get('/v1/merchant/keys', async (req) => {
    const m = await deps.merchants.authenticate(bearer(req));
    return { keys: await deps.merchants.tillKeys(m) };
  });
  app.post('/v1/merchant/keys/:id/revoke', async (req) => {
    const m = await deps.merchants.authenticate(bearer(req));
    const { id } = parse(keyParams, req.params);
    return deps.merchants.revokeTillKey(m, id);
  });
}
