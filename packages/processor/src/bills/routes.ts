/**
 * Routes of bill payment and airtime top-up (`biller.lookup` is answered in `../messages.ts`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, parse, requireAdmin } from '@semops/node';
import { idPattern, moneyWire, phoneNumber } from '@semops/protocol';
import { ACCOUNT_RE, BILLER_CODE_RE, type BillDeps, type BillService } from './service.js';

const minor = z.string().regex(/^[1-9]\d{0,15}$/, 'a positive whole number of minor units');
const registerBody = z.strictObject({
  merchantId: z.string().regex(idPattern('mer'), 'a merchant id mer_…'),
  billerCode: z.string().regex(BILLER_CODE_RE, '5 to 12 digits'),
  accountPattern: z.string().min(1).max(200).optional(),
  minAmount: minor.optional(),
  maxAmount: minor.optional(),
});
const billBody = z.strictObject({
  billerCode: z.string().regex(BILLER_CODE_RE, '5 to 12 digits'),
  account: z.string().regex(ACCOUNT_RE, '1 to 64 letters, digits, spaces, ".", "/" or "-"'),
  amount: moneyWire.optional(),
});
const airtimeBody = z.strictObject({ phone: phoneNumber, amount: moneyWire });
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(100) });

export function registerBillRoutes(
  app: FastifyInstance,
  deps: Pick<BillDeps, 'customers' | 'merchants'> & { bills: BillService; adminToken: string },
): void {
  const { bills, customers, merchants } = deps;

  app.post('/v1/admin/billers', async (req, reply) => {
    requireAdmin(req, deps.adminToken);
    return reply.code(201).send(await bills.register(parse(registerBody, req.body)));
  });
  app.get('/v1/admin/airtime-topups', async (req) => {
    requireAdmin(req, deps.adminToken);
    const { limit } = parse(listQuery, req.query ?? {});
    await bills.sweepAirtime();
    return { topups: await bills.topups(limit) };
  });
  app.get('/v1/biller/payments', async (req) => {
    const m = await merchants.authenticate(bearer(req));
    const { limit } = parse(listQuery, req.query ?? {});
    return { payments: await bills.billerPayments(m, limit) };
  });
  app.post('/v1/wallet/bills/resolve', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const b = parse(billBody, req.body);
    return bills.resolveBill(customer, b.billerCode, b.account, b.amount);
  });
  app.post('/v1/wallet/airtime', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const b = parse(airtimeBody, req.body);
    return bills.resolveAirtime(customer, b.phone, b.amount);
  });
}
