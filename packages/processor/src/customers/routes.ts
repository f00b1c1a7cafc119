import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bearer, parse, requireAdmin, type IdempotencyStore } from '@semops/node';
import type { Ledger } from '@semops/ledger';
import {
  SemopsError,
  compactJwe,
  currencyCode,
  minorUnits,
  newId,
  okpJwk,
  phoneNumber,
} from '@semops/protocol';
import type { CustomerService } from './service.js';

const createCustomer = z.strictObject({
  phone: phoneNumber,
  name: z.string().trim().min(1).max(100),
  currency: currencyCode,
  kind: z.enum(['bank', 'emoney']).optional(),
  tier: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).optional(),
});
const deposit = z.strictObject({ amount: minorUnits });
const enrol = z.strictObject({
  phone: phoneNumber,
  activationCode: z.string().regex(/^\d{8}$/, '8 digits'),
  devicePublicKey: okpJwk,
  pin: compactJwe,
});
const phoneQuery = z.strictObject({ phone: phoneNumber });
const enrolLimit = {
  max: 10,
  timeWindow: 600_000,
  groupId: 'enrol',
  hook: 'preHandler' as const,
  keyGenerator: (req: FastifyRequest) => {
    const phone = (req.body as { phone?: unknown } | null)?.phone;
    return `enrol:${typeof phone === 'string' ? phone.slice(0, 32) : ''}`;
  },
};
const activationBody = z.strictObject({ resetPin: z.boolean().default(false) });
const customerParams = z.strictObject({ id: z.string().regex(/^cus_[0-9A-Z]{26}$/, 'a customer id') });
const historyQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export function registerCustomerRoutes(
  app: FastifyInstance,
  deps: { customers: CustomerService; ledger: Ledger; adminToken: string; idempotency: IdempotencyStore },
): void {
  const { customers, adminToken, idempotency } = deps;

  app.post('/v1/admin/customers', async (req, reply) => {
    requireAdmin(req, adminToken);
    const body = parse(createCustomer, req.body);
    const key = req.headers['idempotency-key'] as string | undefined;
    const result = await idempotency.run('admin.customers', key, body, () => customers.create(body));
    return reply.code(201).send(result);
  });

  app.post('/v1/admin/customers/:id/deposits', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    const body = parse(deposit, req.body);
    const key = req.headers['idempotency-key'] as string | undefined;
    return idempotency.run(`admin.deposit.${id}`, key, body, async () => {
      const b = await customers.deposit(id, BigInt(body.amount), newId('tr'));
      return { currency: b.currency, balance: b.balance.toString(), available: b.available.toString() };
    });
  });

  app.post('/v1/admin/customers/:id/unlock', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    await customers.unlockPin(id);
    return { ok: true };
  });

  /**
   * A new activation code from the operator (a customer who lost every device). With `resetPin` (after the
   * operator checked the customer's identity) the PIN is also cleared and unlocked: the next enrolment sets it.
   */
  app.post('/v1/admin/customers/:id/activation', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    const { resetPin } = parse(activationBody, req.body ?? {});
    return { activationCode: await customers.reissueActivation(id, { resetPin }) };
  });

  /** The customer holding a phone number (`?phone=+43…`), as `GET /v1/admin/customers/:id` shows one. */
  app.get('/v1/admin/customers', async (req) => {
    requireAdmin(req, adminToken);
    const { phone } = parse(phoneQuery, req.query ?? {});
    const c = await customers.findByPhone(phone);
    if (!c) throw new SemopsError('CUSTOMER_NOT_FOUND');
    const b = await customers.balance(c.id);
    return { ...c, balance: b.balance.toString(), available: b.available.toString() };
  });

  app.get('/v1/admin/customers/:id', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    const c = await customers.get(id);
    const b = await customers.balance(id);
    return { ...c, balance: b.balance.toString(), available: b.available.toString() };
  });

  // Enrolment takes an activation code and a PIN: 10 tries per phone number in 10 minutes against guessing
  // either (a wrong PIN also counts on the customer's PIN counter).
  app.post('/v1/wallet/enrol', { config: { rateLimit: enrolLimit } }, async (req, reply) => {
    const body = parse(enrol, req.body);
    return reply.code(201).send(await customers.enrol(body));
  });

  app.get('/v1/wallet/me', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const b = await customers.balance(customer.id);
    return {
      customer: {
        id: customer.id,
        name: customer.name,
        phone: customer.phone,
        currency: customer.currency,
        pinLocked: customer.pinLocked,
        kind: customer.kind,
        tier: customer.tier,
      },
      balance: { value: b.balance.toString(), currency: b.currency },
      available: { value: b.available.toString(), currency: b.currency },
    };
  });

  /**
   * "Block this phone": the customer blocks the account on every channel (wallet devices, SMS, USSD, mandates)
   * until the operator lifts it. Blocking protects, so the access token suffices.
   */
  app.post('/v1/wallet/device/block', async (req) => {
    const { device, customer } = await customers.authenticate(bearer(req));
    const r = await customers.block(customer.id);
    return { deviceId: device.id, status: 'blocked' as const, account: r.status, devices: r.devices };
  });

  /** The operator blocks a customer on every channel (lost phone reported by call or at a branch). */
  app.post('/v1/admin/customers/:id/block', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    return customers.block(id);
  });

  /** The operator lifts a block after checking the customer's identity. */
  app.post('/v1/admin/customers/:id/unblock', async (req) => {
    requireAdmin(req, adminToken);
    const { id } = parse(customerParams, req.params);
    return customers.unblock(id);
  });

  app.get('/v1/wallet/transactions', async (req) => {
    const { customer } = await customers.authenticate(bearer(req));
    const { limit } = parse(historyQuery, req.query ?? {});
    const transfers = await deps.ledger.listTransfers(customer.accountId, { limit });
    return {
      transactions: transfers.map((t) => ({
        id: t.id,
        direction: t.creditAccountId === customer.accountId ? 'in' : 'out',
        amount: { value: t.amount.toString(), currency: t.currency },
        state: t.state,
        kind: t.code ?? 'transfer',
        reference: t.reference ?? null,
        createdAt: t.createdAt,
      })),
    };
  });
}
