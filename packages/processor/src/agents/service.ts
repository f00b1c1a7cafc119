/**
 * Agents: merchants of kind `agent` that change cash for e-money. The merchant account of an agent is its
 * FLOAT (e-money it holds; debits ≤ credits); a second account holds its COMMISSION, paid by the processor
 * from a fee-expense account on each cash-in and cash-out. Cash-in moves float to a customer of this
 * processor (agent API key + agent PIN); cash-out is a customer paying the agent's till (a reusable request)
 * through the normal payment path, which credits the float; the commission on it is paid on commit.
 */
import { createHash, randomInt } from 'node:crypto';
import { LedgerError, type Ledger } from '@semops/ledger';
import { sha256, type Sql, type Log } from '@semops/node';
import { SemopsError, newId, randomToken, type MoneyWire } from '@semops/protocol';
import type { PinHasher } from '../customers/pins.js';
import { MAX_PIN_ATTEMPTS } from '../customers/pins.js';
import type { CustomerService } from '../customers/service.js';
import type { LimitService } from '../limits/service.js';
import type { MerchantService, Merchant } from '../merchants/service.js';
import { moneyText, type NotificationService } from '../notifications/service.js';
import type { RequestService } from '../requests/service.js';
import { CASH_OUT_CATEGORY } from '../requests/payee-bookings.js';
import type { HubLink } from '../hub/link.js';

/** Commission on an amount: `bps` basis points of it, at least `min` minor units. */
export interface CommissionSchedule {
  readonly bps: bigint;
  readonly min: bigint;
}

/** Default 0.5 % with a minimum of 0.10; `SEMOPS_AGENT_COMMISSION="50:10"` (bps:min minor units) overrides. */
export function commissionSchedule(spec = process.env.SEMOPS_AGENT_COMMISSION): CommissionSchedule {
  const m = /^(\d{1,5}):(\d{1,12})$/.exec(spec ?? '');
  return m ? { bps: BigInt(m[1]!), min: BigInt(m[2]!) } : { bps: 50n, min: 10n };
}

export function commissionFor(s: CommissionSchedule, amount: bigint): bigint {
  const c = (amount * s.bps) / 10_000n;
  return c < s.min ? s.min : c;
}

/**
 * Merchant category of an agent till: manual cash disbursements. Payers recognise a till by it and pay it
 * with a `p2p` transfer, which the hub never charges (`purposeOf` in requests/payee-bookings.ts).
 */
export const AGENT_CATEGORY = CASH_OUT_CATEGORY;
const TILL_LIFETIME_SECONDS = 20 * 365 * 86_400;

export interface AgentRow {
  merchant_id: string;
  float_account_id: string;
  commission_account_id: string;
  till_request_id: string;
  till_code: string;
  pin_hash: string | null;
  pin_attempts: number;
  pin_locked: number;
  activation_hash: string | null;
}

interface MovementRow {
  id: string;
  kind: 'float' | 'cash_in' | 'cash_out';
  amount: string;
  commission: string;
  currency: string;
  created_at: number | string;
}

export interface AgentDeps {
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly merchants: MerchantService;
  readonly requests: RequestService;
  readonly customers: CustomerService;
  readonly limits: LimitService;
  readonly notifications: NotificationService;
  readonly pins: PinHasher;
  readonly hub: Pick<HubLink, 'send'>;
  readonly fundingAccount: (currency: string) => Promise<string>;
  readonly now: () => number;
  readonly log: Log;
  readonly schedule?: CommissionSchedule;
}

function activationCode(): string {
  return String(randomInt(0, 100_000_000)).padStart(8, '0');
}

/** A transfer id derived from an idempotency key (so that a retried call reuses it), else a new one. */
function transferId(scope: string, key: string | undefined): string {
  if (key === undefined) return newId('tr');
  return `tr_${createHash('sha256').update(`${scope}\u0000${key}`).digest('hex').slice(0, 26)}`;
}

/** Kind (ledger code) of the house account `fee_expense:<CUR>` that pays agents' commissions. */
export const FEE_EXPENSE_KIND = 'fee_expense';

export function createAgentService(deps: AgentDeps) {
  const { q, ledger, now } = deps;
  const schedule = deps.schedule ?? commissionSchedule();
  const feeAccounts = new Set<string>();
  async function feeExpenseAccount(currency: string): Promise<string> {
    const id = `${FEE_EXPENSE_KIND}:${currency}`;
    if (!feeAccounts.has(id)) {
      await ledger.createAccount({ id, currency, rule: 'none', code: FEE_EXPENSE_KIND });
      feeAccounts.add(id);
    }
    return id;
  }

  async function agentRow(id: string): Promise<AgentRow> {
    const r = await q.one<AgentRow>`SELECT * FROM agents WHERE merchant_id = ${id}`;
    if (!r) throw new SemopsError('AGENT_NOT_FOUND');
    return r;
  }

  async function balanceOf(accountId: string, currency: string): Promise<MoneyWire> {
    const a = await ledger.getAccount(accountId);
    return { value: (a ? a.creditsPosted - a.debitsPosted : 0n).toString(), currency };
  }

  async function payCommission(a: AgentRow, currency: string, id: string, amount: bigint): Promise<bigint> {
    const commission = commissionFor(schedule, amount);
    if (commission > 0n) {
      await ledger.transfer({
        id: `${id}c`.slice(0, 64),
        debitAccountId: await feeExpenseAccount(currency),
        creditAccountId: a.commission_account_id,
        amount: commission,
        currency,
        code: 'commission',
        reference: id,
      });
    }
    return commission;
  }

  async function recordMovement(
    agentId: string,
    id: string,
    kind: MovementRow['kind'],
    amount: bigint,
    commission: bigint,
    currency: string,
  ): Promise<void> {
    await q.run`INSERT INTO agent_movements (id, agent_id, kind, amount, commission, currency, created_at)
      VALUES (${id}, ${agentId}, ${kind}, ${amount.toString()}, ${commission.toString()}, ${currency}, ${now()})
      ON CONFLICT (id) DO NOTHING`;
  }

  const service = {
    /** Creates an agent: a merchant of kind `agent` with float and commission accounts, a till and a PIN code. */
    async create(input: { name: string; city: string; currency: string }) {
      const id = newId('mer');
      const floatAccountId = newId('acc');
      const commissionAccountId = newId('acc');
      await ledger.createAccount({
        id: floatAccountId,
        currency: input.currency,
        rule: 'debits_must_not_exceed_credits',
        code: 'agent_float',
      });
      await ledger.createAccount({
        id: commissionAccountId,
        currency: input.currency,
        rule: 'debits_must_not_exceed_credits',
        code: 'agent_commission',
      });
      const apiKey = `sk_${randomToken(24)}`;
      const code = activationCode();
      await q.run`INSERT INTO merchants (id, name, city, category, currency, account_id, api_key_hash, webhook_url,
          webhook_secret, created_at, kind)
        VALUES (${id}, ${input.name}, ${input.city}, ${AGENT_CATEGORY}, ${input.currency}, ${floatAccountId},
          ${sha256(apiKey)}, ${null}, ${`whsec_${randomToken(24)}`}, ${now()}, 'agent')`;
      const till = await deps.requests.create(await deps.merchants.get(id), {
        currency: input.currency,
        reference: 'cash-out',
        description: `Cash-out at agent ${input.name}`,
        expiresInSeconds: TILL_LIFETIME_SECONDS,
        reusable: true,
      });
      await q.run`INSERT INTO agents (merchant_id, float_account_id, commission_account_id, till_request_id,
          till_code, activation_hash, created_at)
        VALUES (${id}, ${floatAccountId}, ${commissionAccountId}, ${till.id}, ${till.shortCode},
          ${sha256(code)}, ${now()})`;
      return {
        agentId: id,
        apiKey,
        activationCode: code,
        tillCode: till.shortCode,
        tillRequestId: till.id,
        floatAccountId,
        commissionAccountId,
      };
    },

    /** The agent behind an API key; a plain merchant's key is FORBIDDEN here. */
    async authenticate(apiKey: string | undefined): Promise<{ merchant: Merchant; agent: AgentRow }> {
      const merchant = await deps.merchants.authenticate(apiKey);
      const agent = await q.one<AgentRow>`SELECT * FROM agents WHERE merchant_id = ${merchant.id}`;
      if (!agent) throw new SemopsError('FORBIDDEN', 'These credentials are not an agent’s.');
      return { merchant, agent };
    },

    /** The agent sets its PIN with the one-time activation code it got at creation. */
    async setPin(agentId: string, code: string, pin: string): Promise<void> {
      if (!/^\d{4,6}$/.test(pin)) throw new SemopsError('PIN_FORMAT');
      const n = await q.run`UPDATE agents SET pin_hash = ${deps.pins.hash(agentId, pin)}, pin_attempts = 0,
          pin_locked = 0, activation_hash = NULL
        WHERE merchant_id = ${agentId} AND activation_hash = ${sha256(code)}`;
      if (n !== 1) throw new SemopsError('ACTIVATION_INVALID');
    },

    /** Checks the agent PIN; the third wrong try locks it (as for customers). */
    async checkPin(agentId: string, pin: string): Promise<void> {
      const r = await agentRow(agentId);
      if (Number(r.pin_locked) === 1) throw new SemopsError('PIN_LOCKED');
      if (r.pin_hash === null) throw new SemopsError('PIN_INVALID', 'Set the agent PIN first.');
      if (deps.pins.matches(agentId, pin, r.pin_hash)) {
        if (Number(r.pin_attempts) !== 0)
          await q.run`UPDATE agents SET pin_attempts = 0 WHERE merchant_id = ${agentId}`;
        return;
      }
      const after = await q.one<{ pin_attempts: number }>`UPDATE agents SET pin_attempts = pin_attempts + 1,
          pin_locked = CASE WHEN pin_attempts + 1 >= ${MAX_PIN_ATTEMPTS} THEN 1 ELSE 0 END
        WHERE merchant_id = ${agentId} RETURNING pin_attempts`;
      const left = MAX_PIN_ATTEMPTS - Number(after?.pin_attempts ?? MAX_PIN_ATTEMPTS);
      if (left <= 0) throw new SemopsError('PIN_LOCKED');
      throw new SemopsError('PIN_INVALID', `Wrong PIN; ${left} ${left === 1 ? 'try' : 'tries'} left.`, {
        attemptsLeft: left,
      });
    },

    /** The operator funds an agent's float from its funding account. */
    async fundFloat(agentId: string, amount: bigint, key: string | undefined) {
      const a = await agentRow(agentId);
      const m = await deps.merchants.get(agentId);
      const id = transferId(`float:${agentId}`, key);
      await ledger.transfer({
        id,
        debitAccountId: await deps.fundingAccount(m.currency),
        creditAccountId: a.float_account_id,
        amount,
        currency: m.currency,
        code: 'agent_float',
      });
      await recordMovement(agentId, id, 'float', amount, 0n, m.currency);
      return { agentId, transferId: id, float: await balanceOf(a.float_account_id, m.currency) };
    },

    /**
     * Cash-in: the agent's float → a customer of this processor, with the commission to the agent. A phone
     * served by another processor is CASH_IN_NOT_SUPPORTED; a float too low is INSUFFICIENT_FUNDS.
     */
    async cashIn(m: Merchant, a: AgentRow, phone: string, amount: bigint, key: string | undefined) {
      const c = await deps.customers.findByPhone(phone);
      if (!c) {
        let elsewhere: unknown;
        try {
          elsewhere = (await deps.hub.send('directory.lookup', { alias: deps.customers.blind(phone) }))
            .processorId;
        } catch {
          elsewhere = undefined;
        }
        if (typeof elsewhere === 'string') throw new SemopsError('CASH_IN_NOT_SUPPORTED');
        throw new SemopsError('CUSTOMER_NOT_FOUND', 'No customer of this processor has that phone number.');
      }
      if (c.status !== 'active') throw new SemopsError('ACCOUNT_BLOCKED');
      if (c.currency !== m.currency) throw new SemopsError('CURRENCY_MISMATCH');
      await deps.limits.checkCredit(c.id, (await deps.customers.balance(c.id)).balance, amount);
      const id = transferId(`cash-in:${m.id}`, key);
      try {
        await ledger.transfer({
          id,
          debitAccountId: a.float_account_id,
          creditAccountId: c.accountId,
          amount,
          currency: m.currency,
          code: 'cash_in',
        });
      } catch (e) {
        if (e instanceof LedgerError && e.code === 'EXCEEDS_CREDITS') {
          throw new SemopsError('INSUFFICIENT_FUNDS', 'The agent float is too low for this cash-in.');
        }
        throw e;
      }
      const commission = await payCommission(a, m.currency, id, amount);
      await recordMovement(m.id, id, 'cash_in', amount, commission, m.currency);
      const money = { value: amount.toString(), currency: m.currency };
      await deps.notifications.record(
        c.id,
        'payment.received',
        `Cash-in of ${moneyText(money)} at agent ${m.name}.`,
        money,
        `ntf_${id}`,
      );
      return {
        transferId: id,
        amount: money,
        commission: { value: commission.toString(), currency: m.currency },
        float: await balanceOf(a.float_account_id, m.currency),
      };
    },

    /** Pays the commission on every committed cash-out (a payment to an agent till) not yet paid. Idempotent. */
    async settleCashOuts(): Promise<number> {
      const due = await q.all<{ id: string; merchant_id: string; amount: string; currency: string }>`
        SELECT i.id, i.merchant_id, i.amount, i.currency FROM incoming i
          JOIN agents a ON a.merchant_id = i.merchant_id
          LEFT JOIN agent_movements mv ON mv.id = i.id
        WHERE i.state = 'COMMITTED' AND i.refund_of IS NULL AND mv.id IS NULL
        LIMIT 200`;
      for (const i of due) {
        const a = await agentRow(i.merchant_id);
        const commission = await payCommission(a, i.currency, i.id, BigInt(i.amount));
        await recordMovement(i.merchant_id, i.id, 'cash_out', BigInt(i.amount), commission, i.currency);
      }
      return due.length;
    },

    /** What the agent sees: till, float, commission and recent movements. */
    async me(m: Merchant, a: AgentRow, limit = 50) {
      await service.settleCashOuts();
      const rows = await q.all<MovementRow>`SELECT id, kind, amount, commission, currency, created_at
        FROM agent_movements WHERE agent_id = ${m.id} ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
      return {
        agentId: m.id,
        name: m.name,
        city: m.city,
        currency: m.currency,
        tillCode: a.till_code,
        tillRequestId: a.till_request_id,
        pinSet: a.pin_hash !== null,
        float: await balanceOf(a.float_account_id, m.currency),
        commission: await balanceOf(a.commission_account_id, m.currency),
        movements: rows.map((r) => ({
          id: r.id,
          kind: r.kind,
          amount: { value: r.amount, currency: r.currency },
          commission: { value: r.commission, currency: r.currency },
          createdAt: Number(r.created_at),
        })),
      };
    },
  };
  return service;
}

export type AgentService = ReturnType<typeof createAgentService>;
