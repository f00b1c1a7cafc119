/**
 * Operator endpoints of settlement: windows, closing one, a window's report (JSON or CSV) and its transfers.
 */
import type { FastifyInstance } from 'fastify';
import { parse, requireAdmin } from '@semops/node';
import { idPattern, z } from '@semops/protocol';
import { toCsv } from './report.js';
import { MAX_TRANSFERS_PAGE, type SettlementService } from './service.js';

const windowId = z.string().regex(idPattern('win'), 'a window id win_…');
const idParams = z.strictObject({ id: windowId });
const closeBody = z.strictObject({ windowId: windowId.optional() });
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).optional() });
const reportQuery = z.strictObject({ format: z.enum(['json', 'csv']).optional() });
const transfersQuery = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_TRANSFERS_PAGE).optional(),
});

export function registerSettlementRoutes(
  app: FastifyInstance,
  deps: { settlement: SettlementService; adminToken: string },
): void {
  app.get('/v1/admin/settlement/windows', async (req) => {
    requireAdmin(req, deps.adminToken);
    const { limit } = parse(listQuery, req.query);
    return { windows: await deps.settlement.list(limit) };
  });

  app.post('/v1/admin/settlement/windows/close', async (req) => {
    requireAdmin(req, deps.adminToken);
    const body = parse(closeBody, req.body ?? {});
    return deps.settlement.closeWindow(body.windowId === undefined ? {} : { windowId: body.windowId });
  });

  app.get('/v1/admin/settlement/windows/:id/report', async (req, reply) => {
    requireAdmin(req, deps.adminToken);
    const { id } = parse(idParams, req.params);
    const { format } = parse(reportQuery, req.query);
    const report = await deps.settlement.report(id);
    if (format !== 'csv') return report;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${report.windowId}.csv"`)
      .send(toCsv(report));
  });

  app.get('/v1/admin/settlement/windows/:id/transfers', async (req) => {
    requireAdmin(req, deps.adminToken);
    const { id } = parse(idParams, req.params);
    const { after, limit } = parse(transfersQuery, req.query);
    return deps.settlement.transfers(id, {
      ...(after === undefined ? {} : { after }),
      ...(limit === undefined ? {} : { limit }),
    });
  });
}
