/**
 * The HTTP edge of settlement: the operator's list of booked windows and the reconciliation of one window
 * against the hub's view (`settlement.notice` from the hub is answered in `../messages.ts`).
 *
 * - `GET /v1/admin/settlement?limit=100` → `{ windows: [{ windowId, openedAt, closedAt, positions, bookedAt }] }`
 * - `POST /v1/admin/reconcile` `{ window: { windowId, openedAt, closedAt }, transfers: [...], positions? }` →
 *   `{ processorId, windowId, checked, differences: [{ kind, transferId?, currency?, expected?, actual?, message }] }`
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parse, requireAdmin } from '@semops/node';
import { reconcileRequest, type Reconciler } from './reconcile.js';
import type { SettlementService } from './service.js';

const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/** A window's transfer list can be long: the reconcile body may be up to 32 MiB. */
const RECONCILE_BODY_LIMIT = 32 * 1024 * 1024;

/** The operator's settlement routes. */
export function registerSettlementRoutes(
  app: FastifyInstance,
  deps: {
    readonly settlement: SettlementService;
    readonly reconciler: Reconciler;
    readonly adminToken: string;
  },
): void {
  const { settlement, reconciler } = deps;

  app.get('/v1/admin/settlement', async (req) => {
    requireAdmin(req, deps.adminToken);
    const { limit } = parse(listQuery, req.query ?? {});
    return { windows: await settlement.list(limit) };
  });

  app.post(
    '/v1/admin/reconcile',
    {
      bodyLimit: RECONCILE_BODY_LIMIT,
      // Checked before the (large) body is read.
      onRequest: async (req) => requireAdmin(req, deps.adminToken),
    },
    async (req) => reconciler.reconcile(parse(reconcileRequest, req.body)),
  );
}
