/**
 * Account care and prepaid e-money: KYC tier (operator), vouchers (operator creates, customer tops up),
 * statement with filters and CSV, PIN change, own limits within the tier, lost-phone device blocking and a new
 * activation code for another device.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, parse, perCredential, requireAdmin, type IdempotencyStore } from '@semops/node';
import type { Ledger } from '@semops/ledger';
import type { Sql } from '@semops/node';
import { SemopsError, compactJwe, currencyCode, minorUnits } from '@semops/protocol';
import type { CustomerService } from './service.js';
import { statement, statementCsv, type StatementDeps } from './statement.js';
import { limitsView, type LimitService } from '../limits/service.js';
import type { VoucherService } from '../vouchers/service.js';

const customerParams = z.strictObject({ id: z.string().regex(/^cus_[0-9A-Z]{26}$/, 'a customer id') });
const tier = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]);
const setTier = z
  .strictObject({ tier: tier.optional(), kind: z.enum(['bank', 'emoney']).optional() })
  .refine((b) => b.tier !== undefined || b.kind !== undefined, 'tier or kind');
const createVouchers = z.strictObject({
  amount: minorUnits,
  count: z.number().int().min(1).max(1000),
  currency: currencyCode.optional(),
});
const topup = z.strictObject({ code: z.string().trim().min(1).max(40) });
/** A device-signed action (see `authorizeAction`): the body of every credential-changing wallet call. */
export const signedAction = z.strictObject({ action: z.string().max(16_384) });
const changePin = z.strictObject({ new: compactJwe });
const ownLimit = minorUnits.nullable().optional();
const ownLimits = z
  .strictObject({ perTransaction: ownLimit, daily: ownLimit })
  .refine((b) => b.perTransaction !== undefined || b.daily !== undefined, 'perTransaction or daily');
const when = z.union([
  z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/, 'a date (YYYY-MM-DD) or ISO time'),
  z.string().regex(/^\d{1,15}$/, 'epoch milliseconds'),
]);
const statementQuery = z.strictObject({
  from: when.optional(),
  to: when.optional(),
  type: z.enum(['payment', 'deposit', 'refund', 'p2p']).optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

/** A date bound as epoch ms: a bare `to` date covers that whole day. */
function bound(v: string | undefined, end: boolean): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
  return end && v.length === 10 ? t + 86_400_000 - 1 : t;
}

export function registerAccountRoutes(
  app: FastifyInstance,
  deps: {
    q: Sql;
    ledger: Ledger;
    customers: CustomerService;
    limits: LimitService;
    vouchers: VoucherService;
    /** Who is on the other side of each line, by name (defaults: `q` and `ledger` alone). */
    statement?: StatementDeps;
    currency: string;
    adminToken: string;
    idempotency: IdempotencyStore;
  },
): void {
  const { customers, limits, vouchers, adminToken, idempotency } = deps;

  app.post('/v1/admin/customers/:id/tier', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    const body = parse(setTier, req.body);
    return limitsView(
      await limits.setTier(id, {
        ...(body.tier === undefined ? {} : { tier: body.tier }),
        ...(body.kind === undefined ? {} : { kind: body.kind }),
      }),
    );
  });

  app.get('/v1/admin/customers/:id/limits', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    return limitsView(await limits.limits(id));
  });

  /** Lost or stolen phone reported to the operator: every device of the customer is blocked at once. */
  app.post('/v1/admin/customers/:id/block-devices', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    return customers.blockAllDevices(id);
  });

  app.post('/v1/admin/vouchers', async (req, reply) => {
    requireAdmin(req, adminToken);
    const body = parse(createVouchers, req.body);
    const key = req.headers['idempotency-key'] as string | undefined;
    const result = await idempotency.run('admin.vouchers', key, body, async () => {
      const v = await vouchers.create({
        amount: BigInt(body.amount),
        currency: body.currency ?? deps.currency,
        count: body.count,
      });
      return {
        batchId: v.batchId,
        amount: { value: v.amount.toString(), currency: v.currency },
        codes: v.codes,
      };
    });
    return reply.code(201).send(result);
  });

  app.post('/v1/wallet/topup', { config: { rateLimit: perCredential(10, 'topup') } }, async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { code } = parse(topup, req.body);
    return vouchers.redeem(customer.id, code);
  });

  app.get('/v1/wallet/statement', async (req, reply) => {
    const { customer } = await customers.authenticate(bearer(req));
    const f = parse(statementQuery, req.query ?? {});
    const from = bound(f.from, false);
    const to = bound(f.to, true);
    if ((from !== undefined && Number.isNaN(from)) || (to !== undefined && Number.isNaN(to))) {
      throw new SemopsError('VALIDATION_FAILED', 'Invalid request, from/to: not a valid date.');
    }
    const entries = await statement(deps.statement ?? { q: deps.q, ledger: deps.ledger }, customer, {
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(f.type === undefined ? {} : { type: f.type }),
    });
    if (f.format === 'csv') {
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="statement.csv"')
        .send(statementCsv(entries));
    }
    return {
      currency: customer.currency,
      entries: entries.map((e) => ({
        ...e,
        amount: { value: e.amount.toString(), currency: e.currency },
      })),
    };
  });

  /** Changes the PIN: a device-signed `pin.change` action with the current PIN, the new one as a JWE in params. */
  app.post('/v1/wallet/pin', { config: { rateLimit: perCredential(10, 'credential') } }, async (req) => {
    const auth = await customers.authenticate(bearer(req));
    const { action } = parse(signedAction, req.body);
    const { params, pin } = await customers.authorizeAction(auth, action, 'pin.change');
    const body = parse(changePin, params);
    const newPin = await customers.decryptPin(body.new);
    await customers.replacePin(auth.customer.id, pin, newPin);
    return { ok: true };
  });

  app.get('/v1/wallet/limits', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    return limitsView(await limits.limits(customer.id));
  });

  /** The customer's own limits within the tier (`null` clears one): a device-signed `limits.set` action. */
  app.put('/v1/wallet/limits', { config: { rateLimit: perCredential(10, 'credential') } }, async (req) => {
    const auth = await customers.authenticate(bearer(req));
    const { action } = parse(signedAction, req.body);
    const { params } = await customers.authorizeAction(auth, action, 'limits.set');
    const body = parse(ownLimits, params);
    const v = (x: string | null | undefined) => (x === undefined ? undefined : x === null ? null : BigInt(x));
    const per = v(body.perTransaction);
    const daily = v(body.daily);
    return limitsView(
      await limits.setOwn(auth.customer.id, {
        ...(per === undefined ? {} : { perTransaction: per }),
        ...(daily === undefined ? {} : { daily }),
      }),
    );
  });

  /**
   * A new activation code to enrol another device, asked from an enrolled one: a device-signed
   * `device.new-activation` action with the current PIN. The new device must give the same PIN.
   */
  app.post(
    '/v1/wallet/devices/new-activation',
    { config: { rateLimit: perCredential(10, 'credential') } },
    async (req) => {
      const auth = await customers.authenticate(bearer(req));
      const { action } = parse(signedAction, req.body);
      await customers.authorizeAction(auth, action, 'device.new-activation');
      return { activationCode: await customers.reissueActivation(auth.customer.id) };
    },
  );
}
