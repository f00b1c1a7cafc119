import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call } from '@semops/cli';
import { moneyProblems } from '@semops/cli/testkit';
import { expectCode, expectConserved, freshNetwork } from './helpers.js';

/** Agent endpoints: bad input gets a 4xx with a stable code and changes nothing. */
describe('agents: bad input', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let url: string;
  let admin: string;
  let agentId: string;
  let apiKey: string;
  let customerPhone: string;
  let otherPhone: string;
  let snapshot: () => Promise<string>;

  beforeAll(async () => {
    env = await freshNetwork();
    const p = env.net.processors.get('mno-b')!;
    url = p.url;
    admin = p.admin.token;
    const created = await call<{ agentId: string; apiKey: string; activationCode: string }>(
      'POST',
      `${url}/v1/admin/agents`,
      { token: admin, body: { name: 'Test Agent', city: 'Wien', currency: 'EUR' } },
    );
    expect(created.status).toBe(201);
    ({ agentId, apiKey } = created.body);
    const pin = await call('POST', `${url}/v1/agent/pin`, {
      token: apiKey,
      body: { activationCode: created.body.activationCode, pin: '2468' },
    });
    expect(pin.status).toBe(200);
    const fund = await call('POST', `${url}/v1/admin/agents/${agentId}/float`, {
      token: admin,
      body: { amount: '5000' },
    });
    expect(fund.status).toBe(200);
    customerPhone = (await env.ctx.customer('mno-b', 0n)).phone;
    otherPhone = (await env.ctx.customer('bank-a', 0n)).phone;
    snapshot = async () => {
      const parts = [JSON.stringify(await p.admin.ledger())];
      const me = await call<{ movements: unknown[] }>('GET', `${url}/v1/agent/me`, { token: apiKey });
      parts.push(JSON.stringify(me.body.movements));
      return parts.join('\n');
    };
  }, 60_000);
  afterAll(async () => env?.close());

  const cashIn = (body: unknown, token: string | null = apiKey) =>
    call('POST', `${url}/v1/agent/cash-in`, { ...(token ? { token } : {}), body });

  it('refuses a wrong agent PIN, no credentials and a merchant key', async () => {
    const m = await env.ctx.merchant('mno-b');
    const before = await snapshot();
    await expectCode(cashIn({ phone: customerPhone, amount: '100', pin: '0000' }), 401, 'PIN_INVALID');
    await expectCode(cashIn({ phone: customerPhone, amount: '100', pin: '2468' }, null), 401, 'UNAUTHORIZED');
    await expectCode(
      cashIn({ phone: customerPhone, amount: '100', pin: '2468' }, m.apiKey),
      403,
      'FORBIDDEN',
    );
    expect(await snapshot()).toBe(before);
    // A correct PIN clears the count of wrong tries.
    const ok = await cashIn({ phone: customerPhone, amount: '100', pin: '2468' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });

  it('refuses a cash-in above the float with INSUFFICIENT_FUNDS', async () => {
    const before = await snapshot();
    await expectCode(
      cashIn({ phone: customerPhone, amount: '999999', pin: '2468' }),
      422,
      'INSUFFICIENT_FUNDS',
    );
    expect(await snapshot()).toBe(before);
  });

  it('refuses an unknown phone and a customer of another processor', async () => {
    const before = await snapshot();
    await expectCode(
      cashIn({ phone: '+43699000000001', amount: '100', pin: '2468' }),
      404,
      'CUSTOMER_NOT_FOUND',
    );
    // The other processor's customer reaches the hub directory shortly after creation.
    const other = await vi.waitFor(
      async () => {
        const r = await cashIn({ phone: otherPhone, amount: '100', pin: '2468' });
        expect(r.status, "the other processor's customer is not in the hub directory yet").not.toBe(404);
        return r;
      },
      { timeout: 10_000, interval: 100 },
    );
    await expectCode(Promise.resolve(other), 422, 'CASH_IN_NOT_SUPPORTED');
    expect(await snapshot()).toBe(before);
  });

  it('refuses malformed bodies and unknown agents', async () => {
    const before = await snapshot();
    await expectCode(cashIn({ phone: 'nope', amount: '100', pin: '2468' }), 400, 'VALIDATION_FAILED');
    await expectCode(cashIn({ phone: customerPhone, amount: '-5', pin: '2468' }), 400, 'VALIDATION_FAILED');
    await expectCode(cashIn({ phone: customerPhone, amount: '0', pin: '2468' }), 400, 'VALIDATION_FAILED');
    await expectCode(
      call('POST', `${url}/v1/admin/agents/mer_00000000000000000000000000/float`, {
        token: admin,
        body: { amount: '100' },
      }),
      404,
      'AGENT_NOT_FOUND',
    );
    await expectCode(
      call('POST', `${url}/v1/admin/agents`, {
        token: admin,
        body: { name: '', city: 'Wien', currency: 'EUR' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', `${url}/v1/admin/agents/${agentId}/float`, { body: { amount: '100' } }),
      401,
      'UNAUTHORIZED',
    );
    await expectCode(
      call('POST', `${url}/v1/agent/pin`, {
        token: apiKey,
        body: { activationCode: '12345678', pin: '1111' },
      }),
      401,
      'ACTIVATION_INVALID',
    );
    expect(await snapshot()).toBe(before);
  });

  it("lists the agent's float, its commission and the commission expense in the operator's books, all accounted for", async () => {
    // 50.00 float funded; the one cash-in of 1.00 earned the minimum commission of 0.10.
    const l = await env.net.processors.get('mno-b')!.admin.ledger();
    const eur = Object.fromEntries(
      l.byKind.filter((k) => k.currency === 'EUR').map((k) => [k.kind, k.balance]),
    );
    expect(eur).toMatchObject({
      funding: '-5000',
      agent_float: '4900',
      customer: '100',
      agent_commission: '10',
      fee_expense: '-10',
    });
    expect(moneyProblems([{ processorId: 'mno-b', byKind: l.byKind }])).toEqual([]);
    await expectConserved(env.ctx);
  });
});
