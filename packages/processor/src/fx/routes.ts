/**
 * Operator endpoints for currency conversion (admin token):
 *
 *   GET  /v1/admin/fx          rates in force, spread, fixed fees, quote validity, rates file
 *   PUT  /v1/admin/fx/rates    { rates: [{ base, quote, rate }] } replaces the rates table
 *   PUT  /v1/admin/fx/config   { spreadBps?, feeFixed?, quoteTtlMs? }
 *   POST /v1/admin/fx/reload   re-reads the rates file (RATES_FILE_INVALID with the line; nothing changes)
 *
 * Each answers with the settings as GET shows them.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parse, requireAdmin } from '@semops/node';
import type { FxService } from './service.js';

const rateEntry = z.strictObject({
  base: z.string().max(8),
  quote: z.string().max(8),
  rate: z.string().max(40),
});
const ratesBody = z.strictObject({ rates: z.array(rateEntry).max(500) });
const configBody = z.strictObject({
  spreadBps: z.number().int().optional(),
  feeFixed: z.record(z.string().max(8), z.string().max(20)).optional(),
  quoteTtlMs: z.number().int().optional(),
});

export function registerFxRoutes(app: FastifyInstance, deps: { fx: FxService; adminToken: string }): void {
  const { fx, adminToken } = deps;

  app.get('/v1/admin/fx', async (req) => {
    requireAdmin(req, adminToken);
    return fx.settings();
  });

  app.put('/v1/admin/fx/rates', async (req) => {
    requireAdmin(req, adminToken);
    return fx.setRates(parse(ratesBody, req.body).rates);
  });

  app.put('/v1/admin/fx/config', async (req) => {
    requireAdmin(req, adminToken);
    const b = parse(configBody, req.body);
    return fx.setConfig({
      ...(b.spreadBps !== undefined ? { spreadBps: b.spreadBps } : {}),
      ...(b.feeFixed !== undefined ? { feeFixed: b.feeFixed } : {}),
      ...(b.quoteTtlMs !== undefined ? { quoteTtlMs: b.quoteTtlMs } : {}),
    });
  });

  app.post('/v1/admin/fx/reload', async (req) => {
    requireAdmin(req, adminToken);
    return fx.reload();
  });
}
