/**
 * Merchants: created by the operator with an account, a secret API key (`sk_…`, stored as a digest) and a
 * webhook secret. The merchant gives its tills and gate scanners till keys (`rk_…`) instead of the secret key:
 * a till key creates payment requests and reads them and the merchant's payments, and nothing else (no
 * refund, no key management).
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

/** What a key may do: `till` for the routes a till key may call, `all` for the rest (secret key only). */
export type KeyScope = 'till' | 'all';

/** A till key as the merchant sees it (the key itself only once, when it is created). */
export interface TillKeyView {
  readonly keyId: string;
  readonly label: string;
  readonly createdAt: number;
  readonly revokedAt?: number;
}

interface TillKeyRow {
  id: string;
  merchant_id: string;
  label: string;
  created_at: number;
  revoked_at: number | null;
}

const tillKeyView = (r: TillKeyRow): TillKeyView => ({
  keyId: r.id,
  label: r.label,
  createdAt: Number(r.created_at),
  ...(r.revoked_at === null ? {} : { revokedAt: Number(r.revoked_at) }),
});

export function createMerchantService(deps: { q: Sql; ledger: Ledger; now: () => number }) {
  const { q, ledger } = deps;
  // Merchants do not change once created: cache them by API key digest and by id.
  const byKey = new Map<string, Merchant>();
  const byId = new Map<string, Merchant>();

  const service = {
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

    /**
     * The merchant a key belongs to. A till key (`rk_…`) is accepted only where `scope` is `till`; elsewhere
     * it is FORBIDDEN with what to use instead. A revoked till key is UNAUTHORIZED.
     */
    async authenticate(apiKey: string | undefined, scope: KeyScope = 'all'): Promise<Merchant> {
      if (!apiKey) throw new SemopsError('UNAUTHORIZED');
      const h = sha256(apiKey);
      if (apiKey.startsWith('rk_')) {
        // Not cached: a revoked key stops working at once, on every instance.
        const k = await q.one<{ merchant_id: string }>`SELECT merchant_id FROM till_keys
          WHERE key_hash = ${h} AND revoked_at IS NULL`;
        if (!k) throw new SemopsError('UNAUTHORIZED');
        if (scope !== 'till') {
          throw new SemopsError(
            'FORBIDDEN',
            "A till key (rk_…) only creates payment requests and reads them; this needs the merchant's secret key (sk_…).",
          );
        }
        return service.get(k.merchant_id);
      }
      const hit = byKey.get(h);
      if (hit) return hit;
      const r = await q.one<MerchantRow>`SELECT * FROM merchants WHERE api_key_hash = ${h}`;
      if (!r) throw new SemopsError('UNAUTHORIZED');
      const m = toMerchant(r);
      byKey.set(h, m);
      return m;
    },

    /** A new till key for a POS or a gate scanner; the key is shown once and stored as a digest. */
    async createTillKey(m: Merchant, label: string): Promise<TillKeyView & { key: string }> {
      const id = `rkid_${randomToken(12)}`;
      const key = `rk_${randomToken(24)}`;
      const t = deps.now();
      await q.run`INSERT INTO till_keys (id, merchant_id, key_hash, label, created_at)
        VALUES (${id}, ${m.id}, ${sha256(key)}, ${label}, ${t})`;
      return { keyId: id, key, label, createdAt: t };
    },

    async tillKeys(m: Merchant): Promise<TillKeyView[]> {
      const rows =
        await q.all<TillKeyRow>`SELECT id, merchant_id, label, created_at, revoked_at FROM till_keys
        WHERE merchant_id = ${m.id} ORDER BY created_at, id`;
      return rows.map(tillKeyView);
    },

    /** Revokes a till key of this merchant (once; again is a no-op). */
    async revokeTillKey(m: Merchant, keyId: string): Promise<TillKeyView> {
      await q.run`UPDATE till_keys SET revoked_at = ${deps.now()}
        WHERE id = ${keyId} AND merchant_id = ${m.id} AND revoked_at IS NULL`;
      const r = await q.one<TillKeyRow>`SELECT id, merchant_id, label, created_at, revoked_at FROM till_keys
        WHERE id = ${keyId} AND merchant_id = ${m.id}`;
      if (!r) throw new SemopsError('NOT_FOUND', 'This merchant has no till key with that id.');
      return tillKeyView(r);
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
  return service;
}

export type MerchantService = ReturnType<typeof createMerchantService>;
