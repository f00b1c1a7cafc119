/**
 * Operator endpoints of the fee schedule.
 */
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '@semops/node';
import type { FeeService } from './service.js';

export function registerFeeRoutes(
  app: FastifyInstance,
  deps: { fees: FeeService; adminToken: string },
): void {
  app.get('/v1/admin/fees', async (req) => {
    requireAdmin(req, deps.adminToken);
    return { entries: await deps.fees.list() };
  });

  app.put('/v1/admin/fees', async (req) => {
    requireAdmin(req, deps.adminToken);
    return { entries: await deps.fees.replace(req.body) };
  });
}
