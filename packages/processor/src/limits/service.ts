/**
 * KYC tiers and spending limits. E-money customers are bound by their tier (maximum balance, per-transaction,
 * daily and monthly spending); every customer may set lower per-transaction and daily limits of their own.
 *
 * Spending is counted from the payments table (NEW, RESERVED and COMMITTED payments of the customer since the
 * start of the UTC day or month), including the payment being checked, which is recorded before the check:
 * two payments checked at the same moment both see each other, so together they never exceed a limit (at worst
 * one of them is refused although the other later fails).
 */
import type { Sql } from '@semops/node';
import { SemopsError, formatMoney } from '@semops/protocol';

export type Tier = 0 | 1 | 2 | 3;
export type CustomerKind = 'bank' | 'emoney';

export interface TierLimits {
  /** Minor units. */
  readonly maxBalance: bigint;
  readonly perTransaction: bigint;
  readonly daily: bigint;
  readonly monthly: bigint;
}

/** Default tier table (minor units): 0 = unverified, 1 = basic KYC, 2 = verified ID, 3 = full KYC. */
export const DEFAULT_TIERS: Readonly<Record<Tier, TierLimits>> = {
  0: { maxBalance: 150_00n, perTransaction: 50_00n, daily: 100_00n, monthly: 150_00n },
  1: { maxBalance: 500_00n, perTransaction: 100_00n, daily: 200_00n, monthly: 1_000_00n },
  2: { maxBalance: 2_500_00n, perTransaction: 500_00n, daily: 1_000_00n, monthly: 5_000_00n },
  3: { maxBalance: 10_000_00n, perTransaction: 2_500_00n, daily: 5_000_00n, monthly: 20_000_00n },
};

interface LimitRow {
  id: string;
  currency: string;
  kind: CustomerKind;
  tier: number;
  own_per_transaction: string | null;
  own_daily: string | null;
}

export interface EffectiveLimits {
  readonly kind: CustomerKind;
  readonly tier: Tier;
  /** The tier's limits, or none for a bank customer. */
  readonly tierLimits: TierLimits | null;
  readonly ownPerTransaction: bigint | null;
  readonly ownDaily: bigint | null;
  readonly perTransaction: bigint | null;
  readonly daily: bigint | null;
  readonly monthly: bigint | null;
  readonly maxBalance: bigint | null;
}

const min = (a: bigint | null, b: bigint | null) => (a === null ? b : b === null ? a : a < b ? a : b);

export function startOfUtcDay(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}
export function startOfUtcMonth(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function createLimitService(deps: {
  q: Sql;
  now: () => number;
  tiers?: Readonly<Record<Tier, TierLimits>>;
}) {
  const { q, now } = deps;
  const tiers = deps.tiers ?? DEFAULT_TIERS;

  async function row(customerId: string, on: Sql = q): Promise<LimitRow> {
    const r = await on.one<LimitRow>`SELECT id, currency, kind, tier, own_per_transaction, own_daily
      FROM customers WHERE id = ${customerId}`;
    if (!r) throw new SemopsError('CUSTOMER_NOT_FOUND');
    return r;
  }

  function effective(r: LimitRow): EffectiveLimits {
    const tier = Number(r.tier) as Tier;
    const t = r.kind === 'emoney' ? tiers[tier] : null;
    const ownPer = r.own_per_transaction === null ? null : BigInt(r.own_per_transaction);
    const ownDaily = r.own_daily === null ? null : BigInt(r.own_daily);
    return {
      kind: r.kind,
      tier,
      tierLimits: t,
      ownPerTransaction: ownPer,
      ownDaily,
      perTransaction: min(t?.perTransaction ?? null, ownPer),
      daily: min(t?.daily ?? null, ownDaily),
      monthly: t?.monthly ?? null,
      maxBalance: t?.maxBalance ?? null,
    };
  }

  /**
   * What the customer spent since `since`: reserved and committed payments, and the payment `paymentId` being
   * checked. A payment is recorded, checked and reserved in one transaction, one payment of a customer at a
   * time (see `check`), so no other payment of theirs is half-way.
   */
  async function spentSince(on: Sql, customerId: string, since: number, paymentId?: string): Promise<bigint> {
    // `charged`: the total in the customer's currency (a converted payment's `amount` is the merchant's).
    const rows = await on.all<{ amount: string }>`SELECT COALESCE(charged, amount) AS amount FROM payments
      WHERE customer_id = ${customerId} AND created_at >= ${since}
        AND (state IN ('RESERVED', 'COMMITTED') OR id = ${paymentId ?? null})`;
    return rows.reduce((s, r) => s + BigInt(r.amount), 0n);
  }

  function exceeded(
    currency: string,
    limit: 'perTransaction' | 'daily' | 'monthly' | 'maxBalance',
    value: bigint,
    remaining: bigint,
  ): SemopsError {
    const r = remaining < 0n ? 0n : remaining;
    const names = {
      perTransaction: 'per-transaction limit',
      daily: 'daily limit',
      monthly: 'monthly limit',
      maxBalance: 'maximum balance',
    };
    return new SemopsError(
      'LIMIT_EXCEEDED',
      `This exceeds your ${names[limit]} of ${formatMoney({ value, currency })}; ${formatMoney({ value: r, currency })} remains.`,
      { limit, value: value.toString(), remaining: r.toString(), currency },
    );
  }

  return {
    tiers,

    async limits(customerId: string): Promise<EffectiveLimits> {
      return effective(await row(customerId));
    },

    /**
     * Checks an outgoing payment of `amount` against the per-transaction, daily and monthly limits; throws
     * LIMIT_EXCEEDED naming the limit and what remains. The payment `paymentId` is recorded (state NEW) in
     * the open transaction `on`, which goes on to reserve it: on PostgreSQL the customer's row is locked for
     * it, so that payments of one customer are checked one after the other (SQLite runs transactions one at a
     * time anyway). Without `paymentId` it checks a payment not recorded yet (SMS and USSD, before they ask
     * for the PIN): `amount` counts on top of what was spent; the payment is checked again when it is made.
     */
    async check(customerId: string, amount: bigint, paymentId?: string, on: Sql = q): Promise<void> {
      if (on.engine === 'postgres' && on.within !== undefined) {
        // NO KEY UPDATE: it queues the customer's payments behind each other, yet lets rows that only refer to
        // the customer (a notification, another payment) be written meanwhile (FOR UPDATE would block their
        // foreign-key checks and deadlock with the ledger's account locks).
        await on.run`SELECT id FROM customers WHERE id = ${customerId} FOR NO KEY UPDATE`;
      }
      const r = await row(customerId, on);
      const l = effective(r);
      if (l.perTransaction !== null && amount > l.perTransaction) {
        throw exceeded(r.currency, 'perTransaction', l.perTransaction, l.perTransaction);
      }
      const t = now();
      const unrecorded = paymentId === undefined ? amount : 0n;
      if (l.daily !== null) {
        const spent = (await spentSince(on, customerId, startOfUtcDay(t), paymentId)) + unrecorded;
        if (spent > l.daily) throw exceeded(r.currency, 'daily', l.daily, l.daily - (spent - amount));
      }
      if (l.monthly !== null) {
        const spent = (await spentSince(on, customerId, startOfUtcMonth(t), paymentId)) + unrecorded;
        if (spent > l.monthly) throw exceeded(r.currency, 'monthly', l.monthly, l.monthly - (spent - amount));
      }
    },

    /** Checks that a credit of `amount` keeps the balance within the tier's maximum balance. */
    async checkCredit(customerId: string, balance: bigint, amount: bigint): Promise<void> {
      const r = await row(customerId);
      const l = effective(r);
      if (l.maxBalance !== null && balance + amount > l.maxBalance) {
        throw exceeded(r.currency, 'maxBalance', l.maxBalance, l.maxBalance - balance);
      }
    },

    async setTier(customerId: string, input: { tier?: Tier; kind?: CustomerKind }): Promise<EffectiveLimits> {
      const r = await row(customerId);
      const tier = input.tier ?? (Number(r.tier) as Tier);
      const kind = input.kind ?? r.kind;
      await q.run`UPDATE customers SET tier = ${tier}, kind = ${kind} WHERE id = ${customerId}`;
      return effective(await row(customerId));
    },

    /**
     * The customer's own per-transaction and daily limits (null clears one). Never above the tier's: a value
     * above it is refused with LIMIT_ABOVE_TIER.
     */
    async setOwn(
      customerId: string,
      input: { perTransaction?: bigint | null; daily?: bigint | null },
    ): Promise<EffectiveLimits> {
      const r = await row(customerId);
      const t = effective(r).tierLimits;
      const check = (v: bigint | null | undefined, cap: bigint | undefined, name: string) => {
        if (v !== undefined && v !== null && cap !== undefined && v > cap) {
          throw new SemopsError(
            'LIMIT_ABOVE_TIER',
            `Your ${name} limit cannot exceed your tier's ${formatMoney({ value: cap, currency: r.currency })}.`,
            { limit: name, max: cap.toString() },
          );
        }
      };
      check(input.perTransaction, t?.perTransaction, 'perTransaction');
      check(input.daily, t?.daily, 'daily');
      const per =
        input.perTransaction === undefined
          ? r.own_per_transaction
          : (input.perTransaction?.toString() ?? null);
      const daily = input.daily === undefined ? r.own_daily : (input.daily?.toString() ?? null);
      await q.run`UPDATE customers SET own_per_transaction = ${per}, own_daily = ${daily} WHERE id = ${customerId}`;
      return effective(await row(customerId));
    },
  };
}

export type LimitService = ReturnType<typeof createLimitService>;

/** Limits as JSON (minor units as decimal strings). */
export function limitsView(l: EffectiveLimits) {
  const s = (v: bigint | null) => (v === null ? null : v.toString());
  return {
    kind: l.kind,
    tier: l.tier,
    tierLimits: l.tierLimits
      ? {
          maxBalance: l.tierLimits.maxBalance.toString(),
          perTransaction: l.tierLimits.perTransaction.toString(),
          daily: l.tierLimits.daily.toString(),
          monthly: l.tierLimits.monthly.toString(),
        }
      : null,
    own: { perTransaction: s(l.ownPerTransaction), daily: s(l.ownDaily) },
    effective: {
      perTransaction: s(l.perTransaction),
      daily: s(l.daily),
      monthly: s(l.monthly),
      maxBalance: s(l.maxBalance),
    },
  };
}
