import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, createAdmission, parse, perCredential, requireAdmin } from '@semops/node';
import { SemopsError, compactJws, idPattern, moneyWire, paymentId, requestId } from '@semops/protocol';
import type { CustomerService } from '../customers/service.js';
import type { ProcessorMetrics } from '../metrics.js';
import type { PaymentService } from './service.js';

const resolveBody = z.strictObject({ code: z.string().trim().min(1).max(8192) });
const approveBody = z.strictObject({ approval: compactJws });
const params = z.strictObject({ id: paymentId });
const quoteBody = z.strictObject({ requestId, amount: moneyWire });
const quoteParams = z.strictObject({ id: z.string().regex(idPattern('fxq'), 'a quote id fxq_…') });
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export function registerPaymentRoutes(
  app: FastifyInstance,
  deps: {
    customers: CustomerService;
    payments: PaymentService;
    adminToken: string;
    metrics?: ProcessorMetrics;
    /** Resolves and approvals executing at once before new ones are refused with 503 OVERLOADED (default 256). */
    maxInFlight?: number;
  },
): void {
  const { customers, payments } = deps;
  // A payment is admitted at its resolve and its approval; a saturated node (event loop 100 ms behind on
  // average) takes no new one, so those it took finish well within the transfer's lifetime.
  const admission = createAdmission({
    maxInFlight: deps.maxInFlight ?? Number(process.env.SEMOPS_MAX_IN_FLIGHT ?? 256),
    maxLagMs: Number(process.env.SEMOPS_MAX_LAG_MS ?? 100),
  });
  app.addHook('onClose', async () => admission.stop());

  app.post('/v1/wallet/resolve', { config: { rateLimit: perCredential(600, 'resolve') } }, async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { code } = parse(resolveBody, req.body);
    return admission.run(() => payments.resolve(customer, code));
  });

  // A quote for a request in another currency: an amount the customer typed, or a new quote after expiry.
  app.post(
    '/v1/wallet/quotes',
    { config: { rateLimit: perCredential(300, 'quote') } },
    async (req, reply) => {
      const { customer } = await customers.authenticate(bearer(req));
      const body = parse(quoteBody, req.body);
      return reply.code(201).send(await payments.quote(customer, body.requestId, body.amount));
    },
  );

  app.get('/v1/wallet/quotes/:id', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { id } = parse(quoteParams, req.params);
    return payments.getQuote(customer, id);
  });

  app.post(
    '/v1/wallet/payments',
    { config: { rateLimit: perCredential(600, 'approve') } },
    async (req, reply) => {
      const t0 = performance.now();
      const auth = await customers.authenticate(bearer(req));
      const { approval } = parse(approveBody, req.body);
      // The request's trace id (trace.ts) travels with the payment's prepare to the hub and the payee.
      const view = await admission.run(() => payments.approve(auth, approval, req.id));
      deps.metrics?.step('payer_approve', t0);
      return reply.code(view.status === 'PENDING' ? 202 : 201).send(view);
    },
  );

  app.get('/v1/wallet/payments', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { limit } = parse(listQuery, req.query ?? {});
    return { payments: await payments.list(customer, limit) };
  });

  app.get('/v1/wallet/payments/:id', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { id } = parse(params, req.params);
    return payments.get(customer, id);
  });

  app.get('/v1/admin/payments/:id', async (req) => {
    requireAdmin(req, deps.adminToken);
    const { id } = parse(params, req.params);
    const p = await payments.find(id);
    if (!p) throw new SemopsError('PAYMENT_NOT_FOUND');
    return p;
  });
}
