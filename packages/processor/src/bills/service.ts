/**
 * Bill payment (paybill) and airtime top-up. A biller is a merchant registered under a numeric biller code
 * that starts with its processor's routing prefix, so a payer processor finds the biller's processor by the
 * code. It asks it, through the hub (`biller.lookup`, sealed past the hub), for a single-use request payable
 * to the biller with the customer's account number as reference; from there it is an ordinary payment.
 * A mobile operator (`kind: "mno"`) has a built-in airtime biller paid with the phone number as reference;
 * the payer finds the operator through the hub directory by the blinded phone number, as P2P does.
 */
import type { Sql, Log } from '@semops/node';
import {
  SemopsError,
  encryptJson,
  formatMoney,
  phoneNumber,
  type Key,
  type MoneyWire,
} from '@semops/protocol';
import type { Customer, CustomerService } from '../customers/service.js';
import type { MerchantService, Merchant } from '../merchants/service.js';
import type { RequestService } from '../requests/service.js';
import type { PaymentService } from '../payments/service.js';
import type { HubLink } from '../hub/link.js';
import { moneyText, type NotificationService } from '../notifications/service.js';

/** How long a request made for a bill or airtime payer lives (single use). */
const BILL_REQUEST_TTL_S = 10 * 60;
/** Airtime is sold between these amounts (minor units). */
export const AIRTIME_MIN = 1_00n;
export const AIRTIME_MAX = 100_00n;
/** Account references: what a biller may ask for, whatever its pattern. */
export const ACCOUNT_RE = /^[A-Za-z0-9][A-Za-z0-9 ./-]{0,63}$/;
export const BILLER_CODE_RE = /^\d{5,12}$/;

interface BillerRow {
  biller_code: string;
  merchant_id: string;
  account_pattern: string | null;
  min_amount: string | null;
  max_amount: string | null;
  airtime: number;
  created_at: number | string;
}

interface TopupRow {
  payment_id: string;
  customer_id: string | null;
  phone: string;
  amount: string;
  currency: string;
  created_at: number | string;
}

export interface BillDeps {
  readonly q: Sql;
  readonly merchants: MerchantService;
  readonly requests: RequestService;
  readonly customers: CustomerService;
  readonly payments: PaymentService;
  readonly notifications: NotificationService;
  readonly hub: HubLink;
  readonly processorId: string;
  readonly routingPrefix: string;
  readonly kind: 'bank' | 'mno';
  readonly currency: string;
  readonly encryptionKeyOf: (processorId: string) => Promise<Key>;
  readonly now: () => number;
  readonly log: Log;
}

/** `+43660123456` → `+43…56`: what a payer sees of the phone they top up. */
export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}…${phone.slice(-2)}`;
}

function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

export function createBillService(deps: BillDeps) {
  const { q, now } = deps;
  const self = deps.processorId;
  let airtimeMerchant: Merchant | undefined;

  const billerByCode = (code: string) => q.one<BillerRow>`SELECT * FROM billers WHERE biller_code = ${code}`;

  function checkRange(
    amount: bigint | undefined,
    min: bigint | undefined,
    max: bigint | undefined,
    currency = deps.currency,
  ): void {
    if (amount === undefined) return;
    if (amount <= 0n || (min !== undefined && amount < min) || (max !== undefined && amount > max)) {
      const show = (v: bigint) => formatMoney({ value: v, currency });
      throw new SemopsError(
        'AMOUNT_OUT_OF_RANGE',
        max === undefined
          ? `The amount must be at least ${show(min ?? 1n)}.`
          : `The amount must be between ${show(min ?? 1n)} and ${show(max)}.`,
      );
    }
  }

  /** The built-in airtime biller of a mobile operator (made on first use). */
  async function airtimeBiller(): Promise<Merchant> {
    if (deps.kind !== 'mno') throw new SemopsError('AIRTIME_NOT_AVAILABLE');
    if (airtimeMerchant) return airtimeMerchant;
    let b = await q.one<BillerRow>`SELECT * FROM billers WHERE airtime = 1`;
    if (!b) {
      const m = await deps.merchants.create({
        name: `Airtime (${self})`,
        city: '',
        category: '4814',
        currency: deps.currency,
      });
      await q.run`INSERT INTO billers (biller_code, merchant_id, account_pattern, min_amount, max_amount, airtime,
          created_at)
        VALUES (${`${deps.routingPrefix}0000`}, ${m.merchantId}, NULL, ${AIRTIME_MIN.toString()},
          ${AIRTIME_MAX.toString()}, 1, ${now()})
        ON CONFLICT (biller_code) DO NOTHING`;
      b = await q.one<BillerRow>`SELECT * FROM billers WHERE airtime = 1`;
    }
    airtimeMerchant = await deps.merchants.get(b!.merchant_id);
    return airtimeMerchant;
  }

  /** A single-use request payable to a biller of ours, for the customer's account at the biller. */
  async function billRequest(billerCode: string, account: string, amount?: MoneyWire): Promise<string> {
    const b = await billerByCode(billerCode);
    if (!b || b.airtime === 1) throw new SemopsError('BILLER_NOT_FOUND');
    if (
      !ACCOUNT_RE.test(account) ||
      (b.account_pattern !== null && !anchored(b.account_pattern).test(account))
    ) {
      throw new SemopsError(
        'ACCOUNT_REFERENCE_INVALID',
        b.account_pattern === null
          ? undefined
          : `The account number does not match what biller ${billerCode} expects (${b.account_pattern}).`,
      );
    }
    const m = await deps.merchants.get(b.merchant_id);
    if (amount && amount.currency !== m.currency) throw new SemopsError('CURRENCY_MISMATCH');
    const min = b.min_amount === null ? undefined : BigInt(b.min_amount);
    const max = b.max_amount === null ? undefined : BigInt(b.max_amount);
    const value = amount ? BigInt(amount.value) : undefined;
    checkRange(value, min, max, m.currency);
    const view = await deps.requests.create(m, {
      currency: m.currency,
      ...(value !== undefined
        ? { amount: value }
        : { minAmount: min ?? 1n, ...(max ? { maxAmount: max } : {}) }),
      reference: account,
      description: `Bill ${billerCode}, account ${account}`,
      expiresInSeconds: BILL_REQUEST_TTL_S,
      reusable: false,
    });
    return view.token;
  }

  /** A single-use request payable to our airtime biller, for a phone number we serve. */
  async function airtimeRequest(phone: string, amount: MoneyWire): Promise<string> {
    const m = await airtimeBiller();
    const c = await deps.customers.findByBlindedAlias(deps.customers.blind(phone));
    if (!c || c.status !== 'active') throw new SemopsError('AIRTIME_NOT_AVAILABLE');
    if (amount.currency !== m.currency) throw new SemopsError('CURRENCY_MISMATCH');
    checkRange(BigInt(amount.value), AIRTIME_MIN, AIRTIME_MAX);
    const view = await deps.requests.create(m, {
      currency: m.currency,
      amount: BigInt(amount.value),
      reference: phone,
      description: `Airtime for ${maskPhone(phone)} (${self})`,
      expiresInSeconds: BILL_REQUEST_TTL_S,
      reusable: false,
    });
    return view.token;
  }

  /** Asks another processor, through the hub, for a bill or airtime request; returns its verified token. */
  async function remoteToken(processorId: string, what: Record<string, unknown>): Promise<string> {
    const sealed = await encryptJson(what, await deps.encryptionKeyOf(processorId));
    const res = await deps.hub.send('biller.lookup', { processorId, sealed });
    return deps.payments.openSealedToken(res.sealed);
  }

  async function shown(customer: Customer, token: string, processorId: string) {
    const s = await deps.payments.resolveToken(customer, token);
    if (s.processorId !== processorId) {
      throw new SemopsError('REQUEST_TOKEN_INVALID', 'Another processor answered for this biller.');
    }
    return s;
  }

  /** Records the airtime credits of committed airtime payments, once each, and tells the phone's owner. */
  async function sweepAirtime(): Promise<number> {
    if (deps.kind !== 'mno') return 0;
    const b = await q.one<BillerRow>`SELECT * FROM billers WHERE airtime = 1`;
    if (!b) return 0;
    const rows = await q.all<{ id: string; amount: string; currency: string; reference: string }>`
      SELECT i.id, i.amount, i.currency, r.reference FROM incoming i JOIN requests r ON r.id = i.request_id
      WHERE i.merchant_id = ${b.merchant_id} AND i.state = 'COMMITTED'
        AND NOT EXISTS (SELECT 1 FROM airtime_topups a WHERE a.payment_id = i.id)
      LIMIT 100`;
    for (const r of rows) {
      const c = await deps.customers.findByBlindedAlias(deps.customers.blind(r.reference));
      const n =
        await q.run`INSERT INTO airtime_topups (payment_id, customer_id, phone, amount, currency, created_at)
        VALUES (${r.id}, ${c?.id ?? null}, ${r.reference}, ${r.amount}, ${r.currency}, ${now()})
        ON CONFLICT (payment_id) DO NOTHING`;
      if (n === 1 && c) {
        const amount = { value: r.amount, currency: r.currency };
        await deps.notifications.record(
          c.id,
          'payment.received',
          `Airtime top-up of ${moneyText(amount)} credited to ${r.reference}.`,
          amount,
          `ntf_air_${r.id}`,
        );
      }
    }
    return rows.length;
  }

  return {
    sweepAirtime,

    /** `POST /v1/admin/billers`: registers a merchant of ours as a biller under a biller code. */
    async register(input: {
      merchantId: string;
      billerCode: string;
      accountPattern?: string;
      minAmount?: string;
      maxAmount?: string;
    }) {
      const m = await deps.merchants.get(input.merchantId);
      if (!input.billerCode.startsWith(deps.routingPrefix)) {
        throw new SemopsError(
          'VALIDATION_FAILED',
          `A biller code here starts with the routing prefix ${deps.routingPrefix}.`,
        );
      }
      if (input.accountPattern !== undefined) {
        try {
          anchored(input.accountPattern);
        } catch {
          throw new SemopsError('VALIDATION_FAILED', 'accountPattern is not a valid regular expression.');
        }
      }
      const min = input.minAmount === undefined ? undefined : BigInt(input.minAmount);
      const max = input.maxAmount === undefined ? undefined : BigInt(input.maxAmount);
      if (min !== undefined && max !== undefined && min > max) {
        throw new SemopsError('VALIDATION_FAILED', 'minAmount must not exceed maxAmount.');
      }
      const n =
        await q.run`INSERT INTO billers (biller_code, merchant_id, account_pattern, min_amount, max_amount,
          airtime, created_at)
        VALUES (${input.billerCode}, ${m.id}, ${input.accountPattern ?? null}, ${min?.toString() ?? null},
          ${max?.toString() ?? null}, 0, ${now()})
        ON CONFLICT (biller_code) DO NOTHING`;
      if (n !== 1) throw new SemopsError('BILLER_CODE_TAKEN');
      return {
        billerCode: input.billerCode,
        merchantId: m.id,
        name: m.name,
        ...(input.accountPattern === undefined ? {} : { accountPattern: input.accountPattern }),
        ...(min === undefined ? {} : { minAmount: min.toString() }),
        ...(max === undefined ? {} : { maxAmount: max.toString() }),
      };
    },

    /** `POST /v1/wallet/bills/resolve`: the biller and the bill as the payer sees them before approving. */
    async resolveBill(customer: Customer, billerCode: string, account: string, amount?: MoneyWire) {
      if (amount && amount.currency !== customer.currency) {
        throw new SemopsError('CURRENCY_MISMATCH', `Your account is in ${customer.currency}.`);
      }
      const prefix = billerCode.slice(0, 3);
      let processorId = self;
      let token: string;
      if (prefix === deps.routingPrefix) {
        token = await billRequest(billerCode, account, amount);
      } else {
        const p = await deps.hub.byRoutingPrefix(prefix);
        if (!p) throw new SemopsError('BILLER_NOT_FOUND');
        processorId = p.id;
        token = await remoteToken(p.id, { billerCode, account, ...(amount ? { amount } : {}) });
      }
      return { ...(await shown(customer, token, processorId)), kind: 'bill' as const, billerCode, account };
    },

    /** `POST /v1/wallet/airtime`: airtime for a phone served by a mobile operator, shown masked. */
    async resolveAirtime(customer: Customer, phone: string, amount: MoneyWire) {
      if (amount.currency !== customer.currency) {
        throw new SemopsError('CURRENCY_MISMATCH', `Your account is in ${customer.currency}.`);
      }
      checkRange(BigInt(amount.value), AIRTIME_MIN, AIRTIME_MAX);
      const alias = deps.customers.blind(phone);
      let processorId: string;
      if (await deps.customers.findByBlindedAlias(alias)) processorId = self;
      else {
        const res = await deps.hub.send('directory.lookup', { alias }).catch((e: unknown) => {
          if (e instanceof SemopsError && e.code === 'ALIAS_NOT_FOUND') return undefined;
          throw e;
        });
        if (!res) throw new SemopsError('AIRTIME_NOT_AVAILABLE');
        processorId = res.processorId;
      }
      let token: string;
      if (processorId === self) token = await airtimeRequest(phone, amount);
      else {
        const p = await deps.hub.participant(processorId);
        if (p?.kind !== 'mno') throw new SemopsError('AIRTIME_NOT_AVAILABLE');
        token = await remoteToken(processorId, { airtime: phone, amount });
      }
      const s = await shown(customer, token, processorId);
      return { ...s, kind: 'airtime' as const, display: `Airtime for ${maskPhone(phone)} (${processorId})` };
    },

    /** `biller.lookup` from another processor: a bill or airtime request, sealed to the requester. */
    async billerLookupForPeer(sealed: string, requester: string) {
      const o = (await deps.payments.openSealed(sealed)) as {
        billerCode?: unknown;
        account?: unknown;
        airtime?: unknown;
        amount?: MoneyWire;
      } | null;
      let token: string;
      if (typeof o?.airtime === 'string' && phoneNumber.safeParse(o.airtime).success && o.amount) {
        token = await airtimeRequest(o.airtime, o.amount);
      } else if (
        typeof o?.billerCode === 'string' &&
        BILLER_CODE_RE.test(o.billerCode) &&
        typeof o.account === 'string'
      ) {
        token = await billRequest(o.billerCode, o.account, o.amount);
      } else {
        throw new SemopsError('VALIDATION_FAILED', 'biller.lookup carries a bill or an airtime top-up.');
      }
      return { sealed: await encryptJson({ token }, await deps.encryptionKeyOf(requester)) };
    },

    /** Payments a biller received, with the account reference of each (to credit the bill). */
    async billerPayments(m: Merchant, limit = 100) {
      const rows = await q.all<{
        id: string;
        request_id: string;
        amount: string;
        currency: string;
        reference: string;
        created_at: number | string;
      }>`SELECT i.id, i.request_id, i.amount, i.currency, r.reference, i.created_at
        FROM incoming i JOIN requests r ON r.id = i.request_id
        WHERE i.merchant_id = ${m.id} AND i.state = 'COMMITTED'
        ORDER BY i.created_at DESC LIMIT ${limit}`;
      return rows.map((r) => ({
        paymentId: r.id,
        requestId: r.request_id,
        account: r.reference,
        amount: { value: r.amount, currency: r.currency },
        createdAt: Number(r.created_at),
      }));
    },

    /** Airtime credited by this operator (operator view). */
    async topups(limit = 100) {
      const rows =
        await q.all<TopupRow>`SELECT * FROM airtime_topups ORDER BY created_at DESC LIMIT ${limit}`;
      return rows.map((r) => ({
        paymentId: r.payment_id,
        phone: r.phone,
        amount: { value: r.amount, currency: r.currency },
        createdAt: Number(r.created_at),
      }));
    },

    airtimeBiller,
  };
}

export type BillService = ReturnType<typeof createBillService>;
