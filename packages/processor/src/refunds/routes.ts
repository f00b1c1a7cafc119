import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, parse, type IdempotencyStore } from '@semops/node';
import { moneyWire, paymentId } from '@semops/protocol';
import type { MerchantService } from '../merchants/service.js';
import type { PaymentService } from '../payments/service.js';

const params = z.strictObject({ id: paymentId });
const refundBody = z.strictObject({ amount: moneyWire.optional() });

/** Refunds (restitution) of payments a merchant received: the merchant never learns who paid. */
export function registerRefundRoutes(
  app: FastifyInstance,
  deps: { merchants: MerchantService; payments: PaymentService; idempotency: IdempotencyStore },
): void {
  app.post('/v1/payments/:id/refunds', async (req, reply) => {
    const m = await deps.merchants.authenticate(bearer(req));
    const { id } = parse(params, req.params);
    const body = parse(refundBody, req.body ?? {});
    const key = req.headers['idempotency-key'] as string | undefined;
    const view = await deps.idempotency.run(`refunds.${m.id}.${id}`, key, body, () =>
      deps.payments.refund(m, id, body.amount),
    );
    return reply.code(view.status === 'PENDING' ? 202 : 201).send(view);
  });

  app.get('/v1/payments/:id/refunds', async (req) => {
    const m = await deps.merchants.authenticate(bearer(req));
    const { id } = parse(params, req.params);
    return { refunds: await deps.payments.listRefunds(m, id) };
  });
}
