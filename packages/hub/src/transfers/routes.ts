/**
 * Operator view of a transfer.
 */
import type { FastifyInstance } from 'fastify';
import { parse, requireAdmin } from '@semops/node';
import { SemopsError, paymentId, z } from '@semops/protocol';
import type { TransferService } from './service.js';

const idParams = z.strictObject({ id: paymentId });

export function registerTransferRoutes(
  app: FastifyInstance,
  deps: { transfers: TransferService; adminToken: string },
): void {
  app.get('/v1/admin/transfers/:id', async (req) => {
    requireAdmin(req, deps.adminToken);
    const { id } = parse(idParams, req.params);
    const record = await deps.transfers.get(id);
    if (!record) throw new SemopsError('TRANSFER_NOT_FOUND');
    const { contentHash: _hash, ...view } = record;
    return view;
  });
}
