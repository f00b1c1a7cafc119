/**
 * Merchants: created by the operator with an account, an API key (stored as a digest) and a webhook secret.
 */
import type { Ledger } from '@semops/ledger';
import { sha256, type Sql } from '@semops/node';
import { SemopsError, newId, randomToken, type MerchantInfo } from '@semops/protocol';
import { CASH_OUT_CATEGORY } from '../requests/payee-bookings.js';

export interface Merchant {
  readonly id: string;
  readonly name: string;
  readonly city: string;
  readonly category: string;
  readonly currency: string;
  readonly accountId: string;
  readonly webhookUrl: string | null;
  readonly webhookSecret: string;
}

interface MerchantRow {
  id: string;
  name: string;
  city: string;
  category: string;
  currency: string;
  account_id: string;
  webhook_url: string | null;
  webhook_secret: string;
}

function toMerchant(r: MerchantRow): Merchant {
  return {
    id: r.id,
    name: r.name,
    city: r.city,
    category: r.category,
    currency: r.currency,
    accountId: r.account_id,
    webhookUrl: r.webhook_url,
    webhookSecret: r.webhook_secret,
  };
}

/** What a payer is shown about a merchant. */
export function merchantInfoOf(m: Merchant): MerchantInfo {
  return { id: m.id, name: m.name, city: m.city, category: m.category };
}

export function createMerchantService(deps: { q: Sql; ledger: Ledger; now: () => number }) {
  const { q, ledger } = deps;
  // Merchants do not change once created: cache them by API key digest and by id.
  const byKey = new Map<string, Merchant>();
  const byId = new Map<string, Merchant>();

  return {
    async create(input: {
      name: string;
      city: string;
      category: string;
      currency: string;
      webhookUrl?: string;
    }) {
      if (input.category === CASH_OUT_CATEGORY) {
        // The category of agent tills: payers pay it as cash-out (no merchant service charge).
        const message = `${CASH_OUT_CATEGORY} (cash disbursement) is kept for agent tills; create an agent with POST /v1/admin/agents`;
        throw new SemopsError('VALIDATION_FAILED', `Invalid request, category: ${message}.`, {
          issues: [{ path: 'category', message }],
        });
      }
      const id = newId('mer');
      const accountId = newId('acc');
      await ledger.createAccount({
        id: accountId,
        currency: input.currency,
        rule: 'debits_must_not_exceed_credits',
        code: 'merchant',
      });
      const apiKey = `sk_${randomToken(24)}`;
      const webhookSecret = `whsec_${randomToken(24)}`;
      await q.run`INSERT INTO merchants (id, name, city, category, currency, account_id, api_key_hash, webhook_url,
          webhook_secret, created_at)
        VALUES (${id}, ${input.name}, ${input.city}, ${input.category}, ${input.currency}, ${accountId},
          ${sha256(apiKey)}, ${input.webhookUrl ?? null}, ${webhookSecret}, ${deps.now()})`;
      return { merchantId: id, accountId, apiKey, webhookSecret };
    },

    async authenticate(apiKey: string | undefined): Promise<Merchant> {
      if (!apiKey) throw new SemopsError('UNAUTHORIZED');
      const h = sha256(apiKey);
      const hit = byKey.get(h);
      if (hit) return hit;
      const r = await q.one<MerchantRow>`SELECT * FROM merchants WHERE api_key_hash = ${h}`;
      if (!r) throw new SemopsError('UNAUTHORIZED');
      const m = toMerchant(r);
      byKey.set(h, m);
      return m;
    },

    async get(id: string): Promise<Merchant> {
      const hit = byId.get(id);
      if (hit) return hit;
      const r = await q.one<MerchantRow>`SELECT * FROM merchants WHERE id = ${id}`;
      if (!r) throw new SemopsError('MERCHANT_NOT_FOUND');
      const m = toMerchant(r);
      byId.set(id, m);
      return m;
    },
  };
}

export type MerchantService = ReturnType<typeof createMerchantService>;
