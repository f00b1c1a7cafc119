/**
 * Operator endpoints for liquidity and positions.
 */
import type { FastifyInstance } from 'fastify';
import { parse, requireAdmin, type IdempotencyStore } from '@semops/node';
import { moneyWire, processorId, z } from '@semops/protocol';
import type { PositionService } from './service.js';

export interface PositionRoutesDeps {
  readonly positions: PositionService;
  readonly adminToken: string;
  readonly idempotency: IdempotencyStore;
}

const liquidityBody = z.strictObject({
  processorId,
  amount: moneyWire,
  direction: z.enum(['deposit', 'withdraw']),
});

export function registerPositionRoutes(app: FastifyInstance, deps: PositionRoutesDeps): void {
  app.post('/v1/admin/liquidity', async (req) => {
    requireAdmin(req, deps.adminToken);
    const body = parse(liquidityBody, req.body);
    const key = req.headers['idempotency-key'];
    return deps.idempotency.run('hub-liquidity', typeof key === 'string' ? key : undefined, body, () =>
      deps.positions.changeLiquidity(body),
    );
  });

  app.get('/v1/admin/positions', async (req) => {
    requireAdmin(req, deps.adminToken);
    return { positions: await deps.positions.list() };
  });
}
