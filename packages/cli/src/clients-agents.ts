/**
 * Client calls for agents: the operator creates an agent and funds its float; the agent (API key) sets its
 * PIN, makes cash-ins and reads its float, commission and movements.
 */
import { randomUUID } from 'node:crypto';
import type { MoneyWire } from '@semops/protocol';
import type { ProcessorAdmin } from './clients-admin.js';
import { json } from './http.js';

export interface AgentCreated {
  agentId: string;
  apiKey: string;
  activationCode: string;
  tillCode: string;
  tillRequestId: string;
  floatAccountId: string;
  commissionAccountId: string;
}

export interface AgentMovement {
  id: string;
  kind: 'float' | 'cash_in' | 'cash_out';
  amount: MoneyWire;
  commission: MoneyWire;
  createdAt: number;
}

export interface AgentView {
  agentId: string;
  name: string;
  city: string;
  currency: string;
  tillCode: string;
  tillRequestId: string;
  pinSet: boolean;
  float: MoneyWire;
  commission: MoneyWire;
  movements: AgentMovement[];
}

export interface CashInResult {
  transferId: string;
  amount: MoneyWire;
  commission: MoneyWire;
  float: MoneyWire;
}

// ---- operator ----

export function createAgent(admin: ProcessorAdmin, input: { name: string; city: string; currency: string }) {
  return json<AgentCreated>('POST', `${admin.url}/v1/admin/agents`, { token: admin.token, body: input });
}

export function fundFloat(
  admin: ProcessorAdmin,
  agentId: string,
  amount: bigint,
  idempotencyKey = randomUUID(),
) {
  return json<{ agentId: string; transferId: string; float: MoneyWire }>(
    'POST',
    `${admin.url}/v1/admin/agents/${encodeURIComponent(agentId)}/float`,
    {
      token: admin.token,
      body: { amount: amount.toString() },
      headers: { 'idempotency-key': idempotencyKey },
    },
  );
}

// ---- agent ----

export class AgentClient {
  constructor(
    readonly url: string,
    readonly apiKey: string,
  ) {}

  setPin(activationCode: string, pin: string) {
    return json<{ ok: true }>('POST', `${this.url}/v1/agent/pin`, {
      token: this.apiKey,
      body: { activationCode, pin },
    });
  }

  cashIn(phone: string, amount: bigint, pin: string, idempotencyKey: string = randomUUID()) {
    return json<CashInResult>('POST', `${this.url}/v1/agent/cash-in`, {
      token: this.apiKey,
      body: { phone, amount: amount.toString(), pin },
      headers: { 'idempotency-key': idempotencyKey },
    });
  }

  me() {
    return json<AgentView>('GET', `${this.url}/v1/agent/me`, { token: this.apiKey });
  }
}

/** A new agent at a processor with its PIN set and `float` funded. */
export async function agentWithFloat(
  admin: ProcessorAdmin,
  input: { name: string; city: string; currency: string },
  float: bigint,
  pin = '2468',
) {
  const created = await createAgent(admin, input);
  const client = new AgentClient(admin.url, created.apiKey);
  await client.setPin(created.activationCode, pin);
  if (float > 0n) await fundFloat(admin, created.agentId, float);
  return { ...created, client, pin };
}
