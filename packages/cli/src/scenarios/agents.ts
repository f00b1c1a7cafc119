/**
 * Scenarios for agents (cash-in and cash-out), through the public HTTP APIs only.
 */
import { check, eur, type Ctx, type Scenario } from '../testkit/index.js';
import { agentWithFloat, type AgentClient, type AgentView } from '../clients-agents.js';

async function newAgent(ctx: Ctx, processorId: string, float: bigint) {
  const p = ctx.processor(processorId);
  return agentWithFloat(p.admin, { name: 'Kiosk Agent', city: 'Wien', currency: p.spec.currency }, float);
}

/** The agent's view once `until` holds (commissions on cash-outs are paid on commit), up to 10 s. */
async function agentView(agent: AgentClient, until: (v: AgentView) => boolean): Promise<AgentView> {
  const end = Date.now() + 10_000;
  let v = await agent.me();
  while (!until(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    v = await agent.me();
  }
  return v;
}

export const AGENT_SCENARIOS: Scenario[] = [
  {
    name: 'agent cash-in: float → customer, commission paid',
    async run(ctx) {
      const a = await newAgent(ctx, 'mno-b', 100_00n);
      const c = await ctx.customer('mno-b', 0n, 'Cash Customer');
      const key = `cash-in-${a.agentId}`;
      const r = await a.client.cashIn(c.phone, 40_00n, a.pin, key);
      check(r.float.value === '6000', `float after cash-in ${r.float.value}`);
      // 0.5 % of 40.00 = 0.20 (minimum 0.10).
      check(r.commission.value === '20', `commission ${r.commission.value}`);
      const again = await a.client.cashIn(c.phone, 40_00n, a.pin, key);
      check(again.transferId === r.transferId, 'a retried cash-in must not pay twice');
      check((await c.wallet.balance()) === 40_00n, 'customer balance');
      const n = await c.wallet.notifications();
      check(
        n.some((x) => x.text.includes('Cash-in')),
        'no cash-in notification',
      );
      const v = await a.client.me();
      check(v.float.value === '6000' && v.commission.value === '20', `agent view ${JSON.stringify(v)}`);
      check(
        v.movements.some((m) => m.kind === 'cash_in' && m.amount.value === '4000'),
        'no cash-in movement',
      );
      return `float 100.00 → 60.00, customer +40.00 (notified), commission 0.20; retry with the same key paid once`;
    },
  },
  {
    name: 'agent cash-out: customer pays the agent till with PIN, float credited',
    async run(ctx) {
      const a = await newAgent(ctx, 'mno-b', 10_00n);
      const c = await ctx.customer('bank-a', 50_00n, 'Cash Out');
      const p = await c.wallet.pay(a.tillCode, '1234', eur(30_00n));
      check(p.status === 'COMPLETED', `cash-out payment ${p.status} ${p.error ?? ''}`);
      await ctx.settled();
      const v = await agentView(a.client, (x) => x.commission.value !== '0');
      check(v.float.value === '4000', `float after cash-out ${v.float.value}`);
      // 0.5 % of 30.00 = 0.15.
      check(v.commission.value === '15', `commission ${v.commission.value}`);
      check(
        v.movements.some((m) => m.kind === 'cash_out' && m.amount.value === '3000'),
        'no cash-out movement',
      );
      check((await c.wallet.balance()) === 20_00n, 'customer balance');
      const again = await c.wallet.pay(a.tillCode, '1234', eur(5_00n));
      check(again.status === 'COMPLETED', 'the till is reusable');
      return `customer at bank-a paid till ${a.tillCode} 30.00 with PIN: float 10.00 → 40.00, commission 0.15; till reused`;
    },
  },
];
