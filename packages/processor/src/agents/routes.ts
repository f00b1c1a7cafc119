/**
 * Agent endpoints: the operator creates agents and funds their float; an agent (API key) sets its PIN,
 * makes cash-ins (with its PIN) and sees its float, commission and movements.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bearer, parse, requireAdmin, type IdempotencyStore } from '@semops/node';
import { currencyCode, minorUnits, phoneNumber } from '@semops/protocol';
import type { AgentService } from './service.js';

const createAgent = z.strictObject({
  name: z.string().trim().min(1).max(100),
  city: z.string().trim().min(1).max(60),
  currency: currencyCode,
});
const fund = z.strictObject({ amount: minorUnits });
const setPin = z.strictObject({ activationCode: z.string().min(1).max(64), pin: z.string().max(64) });
const cashIn = z.strictObject({ phone: phoneNumber, amount: minorUnits, pin: z.string().min(1).max(64) });
const idParam = z.strictObject({ id: z.string().min(1).max(64) });
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/** The agents' and the operator's agent routes. */
export function registerAgentRoutes(
  app: FastifyInstance,
  deps: { agents: AgentService; adminToken: string; idempotency: IdempotencyStore },
): void {
  const { agents } = deps;
  const key = (h: unknown) => (typeof h === 'string' ? h : undefined);

  app.post('/v1/admin/agents', async (req, reply) => {
    requireAdmin(req, deps.adminToken);
    const body = parse(createAgent, req.body);
    const k = key(req.headers['idempotency-key']);
    return reply
      .code(201)
      .send(await deps.idempotency.run('admin.agents', k, body, () => agents.create(body)));
  });

  app.post('/v1/admin/agents/:id/float', async (req) => {
    requireAdmin(req, deps.adminToken);
    const { id } = parse(idParam, req.params);
    const body = parse(fund, req.body);
    const k = key(req.headers['idempotency-key']);
    return deps.idempotency.run(`admin.agents.float:${id}`, k, body, () =>
      agents.fundFloat(id, BigInt(body.amount), k),
    );
  });

  app.post('/v1/agent/pin', async (req) => {
    const { merchant } = await agents.authenticate(bearer(req));
    const body = parse(setPin, req.body);
    await agents.setPin(merchant.id, body.activationCode, body.pin);
    return { ok: true };
  });

  app.post('/v1/agent/cash-in', async (req) => {
    const { merchant, agent } = await agents.authenticate(bearer(req));
    const body = parse(cashIn, req.body);
    await agents.checkPin(merchant.id, body.pin);
    const k = key(req.headers['idempotency-key']);
    const { pin: _pin, ...stored } = body;
    void _pin;
    return deps.idempotency.run(`agent.cash-in:${merchant.id}`, k, stored, () =>
      agents.cashIn(merchant, agent, body.phone, BigInt(body.amount), k),
    );
  });

  app.get('/v1/agent/me', async (req) => {
    const { merchant, agent } = await agents.authenticate(bearer(req));
    const { limit } = parse(listQuery, req.query ?? {});
    return agents.me(merchant, agent, limit);
  });
}
