/**
 * Payments on the payer side: resolve a request (fetched from the payee processor through the hub and
 * checked against its signature), approve it (device signature + PIN, bound to request, amount, currency and
 * payee), reserve the funds, prepare the transfer at the hub, and settle it — post or void — when the
 * outcome is known, also after a crash (reconcile). A request in another currency than the customer's is
 * converted at a quote the customer was shown before the PIN (`fx.ts` beside this file, `../fx/`).
 *
 * This file builds the service and answers what the customer resolves, quotes and looks up. The rest lives
 * beside it: the steps of a payment (`flow.ts`), approvals (`approvals.ts`), recovery (`recovery.ts`), hub
 * batching (`hub-batch.ts`), the stored payment (`model.ts`), and a merchant's refunds (`../refunds/`).
 */
import type { Ledger } from '@semops/ledger';
import type { Sql, Log } from '@semops/node';
import {
  REQUEST_TYP,
  SemopsError,
  decryptJson,
  nodeOfKeyId,
  peekJws,
  requestToken,
  routingPrefixOf,
  verifyJson,
  type Key,
  type MoneyWire,
  type RequestRef,
  type RequestToken,
  type TransferFees,
} from '@semops/protocol';
import type { Customer, CustomerService } from '../customers/service.js';
import type { RequestService } from '../requests/service.js';
import type { HouseAccounts } from '../house-accounts.js';
import { quoteView, type FxQuoteView, type FxService } from '../fx/service.js';
import type { HubLink } from '../hub/link.js';
import { parseCode } from './codes.js';
import type { NotificationService } from '../notifications/service.js';
import type { LimitService } from '../limits/service.js';
import type { ProcessorMetrics } from '../metrics.js';
import { createRefundService } from '../refunds/service.js';
import { createPaymentApprovals } from './approvals.js';
import { createPaymentFlow } from './flow.js';
import { createHubBatcher } from './hub-batch.js';
import { paymentView, type PaymentRow } from './model.js';
import { createPaymentRecovery } from './recovery.js';

export { paymentView, type PaymentState } from './model.js';
export { refundView } from '../refunds/service.js';

/** Channels where the customer approves with the PIN alone (no device key). */
export type PinChannel = 'sms' | 'ussd';

export interface PaymentDeps {
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly customers: CustomerService;
  readonly requests: RequestService;
  readonly hub: HubLink;
  readonly processorId: string;
  readonly routingPrefix: string;
  readonly encryptionKey: Key;
  readonly settlementAccount: (currency: string) => Promise<string>;
  /** House accounts: FX position, FX margin, fee income and interchange legs. */
  readonly house: HouseAccounts;
  /** Rates and quotes for requests in another currency than the customer's. */
  readonly fx: FxService;
  readonly transferTtlMs: number;
  /** Tier and own spending limits, checked after the payment is recorded and before funds are reserved. */
  readonly limits?: LimitService;
  /** Tells the customer of every payment made (`payment.sent`). */
  readonly notifications?: NotificationService;
  readonly now: () => number;
  readonly log: Log;
  /** Counts payments by state and times their steps (absent: nothing is counted). */
  readonly metrics?: ProcessorMetrics;
}

export function createPaymentService(deps: PaymentDeps) {
  const { q, now, processorId } = deps;
  /** Payments this process is working on right now; reconcile leaves them alone. */
  const active = new Set<string>();
  const batcher = createHubBatcher(deps.hub);
  const flow = createPaymentFlow(deps, batcher);
  const { row } = flow;
  const { checkedRequest, newQuote, assertNotDeclined, approve, approveWithPin, payInstalment } =
    createPaymentApprovals(deps, flow, active);
  const { refund, listRefunds } = createRefundService(deps, flow, active);
  const { onEvents, reconcile } = createPaymentRecovery(deps, flow, batcher, active);

  async function fetchToken(ref: RequestRef): Promise<RequestToken> {
    const local =
      'shortCode' in ref
        ? routingPrefixOf(ref.shortCode) === deps.routingPrefix
        : ref.processorId === processorId;
    let token: string;
    if (local) {
      token = await deps.requests.tokenFor(ref);
    } else {
      token = await openSealedToken(await batcher.lookup(ref));
    }
    return verifiedToken(token, ref);
  }

  /** Opens `{ token }` sealed to this processor by another one. */
  async function openSealedToken(sealed: string): Promise<string> {
    const opened = (await decryptJson(sealed, deps.encryptionKey)) as { token?: unknown } | null;
    if (typeof opened?.token !== 'string') throw new SemopsError('REQUEST_TOKEN_INVALID');
    return opened.token;
  }

  /** Checks a request token's signature by the processor it names (and, given a ref, that it answers it). */
  async function verifiedToken(token: string, ref?: RequestRef): Promise<RequestToken> {
    const { kid } = peekJws(token);
    const key = await deps.hub.resolveKey(kid);
    if (!key)
      throw new SemopsError('REQUEST_TOKEN_INVALID', 'The request is signed by an unknown processor.');
    const payload = requestToken.safeParse(await verifyJson(token, key, REQUEST_TYP));
    if (!payload.success || payload.data.processorId !== nodeOfKeyId(kid))
      throw new SemopsError('REQUEST_TOKEN_INVALID');
    const t = payload.data;
    if (!ref) return t;
    const matches =
      'shortCode' in ref
        ? t.shortCode === ref.shortCode
        : t.requestId === ref.requestId && t.processorId === ref.processorId;
    if (!matches)
      throw new SemopsError('REQUEST_TOKEN_INVALID', 'The processor answered for another request.');
    return t;
  }

  /**
   * Remembers a verified request for this customer and returns what to show them. A request in another
   * currency needs a rate (RATE_NOT_AVAILABLE otherwise); its `fee` is the conversion fee in the customer's
   * currency, and a fixed amount comes with a `quote` (unless `withQuote` is false: SMS and USSD quote when
   * they show the amount).
   */
  async function remember(customer: Customer, t: RequestToken, withQuote = true) {
    if (t.expiresAt <= now()) throw new SemopsError('REQUEST_EXPIRED');
    await assertNotDeclined(customer, t.processorId, t.requestId);
    const converts = customer.currency !== t.currency;
    if (converts) await deps.fx.rate(t.currency, customer.currency);
    await q.run`INSERT INTO resolutions (customer_id, request_id, token, resolved_at)
        VALUES (${customer.id}, ${t.requestId}, ${JSON.stringify(t)}, ${now()})
        ON CONFLICT (customer_id, request_id) DO UPDATE SET token = excluded.token, resolved_at = excluded.resolved_at`;
    return {
      requestId: t.requestId,
      processorId: t.processorId,
      merchant: t.merchant,
      currency: t.currency,
      ...(t.amount ? { amount: t.amount } : {}),
      ...(t.minAmount ? { minAmount: t.minAmount } : {}),
      ...(t.maxAmount ? { maxAmount: t.maxAmount } : {}),
      reference: t.reference,
      ...(t.description ? { description: t.description } : {}),
      reusable: t.reusable,
      expiresAt: t.expiresAt,
      ...(t.kind ? { kind: t.kind } : {}),
      ...(t.zone ? { zone: t.zone } : {}),
      ...(t.event ? { event: t.event } : {}),
      ...(t.tariff ? { tariff: t.tariff } : {}),
      ...(t.returnUrl ? { returnUrl: t.returnUrl } : {}),
      fee: converts
        ? { value: (await deps.fx.feeFor(customer.currency)).value.toString(), currency: customer.currency }
        : { value: '0', currency: t.currency },
      ...(converts && t.amount && withQuote ? { quote: await newQuote(customer, t, t.amount) } : {}),
    };
  }

  return {
    /**
     * Fetches, verifies and remembers a payment request for this customer; returns what to show them (with
     * the FX quote of a fixed amount in another currency, unless `opts.quote` is false).
     */
    async resolve(customer: Customer, code: string, opts: { quote?: boolean } = {}) {
      return remember(customer, await fetchToken(parseCode(code)), opts.quote ?? true);
    },

    /**
     * A quote for paying `amount` of a request the customer resolved from their account in another currency:
     * for an amount they typed, or again after a quote expired. Stored; valid for the configured time.
     */
    async quote(customer: Customer, requestId: string, amount: MoneyWire): Promise<FxQuoteView> {
      const res = await q.one<{ token: string }>`SELECT token FROM resolutions
        WHERE customer_id = ${customer.id} AND request_id = ${requestId}`;
      if (!res) throw new SemopsError('RESOLVE_FIRST');
      const payee = (JSON.parse(res.token) as RequestToken).processorId;
      const t = await checkedRequest(customer, requestId, payee, amount, now(), true);
      if (t.currency === customer.currency) {
        throw new SemopsError(
          'VALIDATION_FAILED',
          `This request is in your account's currency (${t.currency}); there is nothing to convert.`,
        );
      }
      return newQuote(customer, t, amount);
    },

    /**
     * Whether quote `quoteId` — the one SMS or USSD showed — is this customer's for exactly this request and
     * amount and still holds (unused, not expired): they check before taking the PIN. True when no conversion
     * is needed.
     */
    async quoteHolds(
      customer: Customer,
      quoteId: string | undefined,
      requestId: string,
      amount: MoneyWire,
    ): Promise<boolean> {
      if (amount.currency === customer.currency) return true;
      const s = quoteId === undefined ? undefined : await deps.fx.get(quoteId);
      const t = now();
      return (
        s !== undefined &&
        s.customerId === customer.id &&
        s.requestId === requestId &&
        s.amount.currency === amount.currency &&
        s.amount.value === BigInt(amount.value) &&
        s.payerCurrency === customer.currency &&
        s.paymentId === null &&
        s.quotedAt <= t &&
        t < s.expiresAt
      );
    },

    /** Like `resolve`, for a token another processor sealed to us (P2P `party.lookup`) or we made. */
    async resolveToken(customer: Customer, token: string) {
      return remember(customer, await verifiedToken(token));
    },

    /** The FX quote shown to a customer, if it is theirs. */
    async getQuote(customer: Customer, quoteId: string): Promise<FxQuoteView> {
      const s = await deps.fx.get(quoteId);
      if (!s || s.customerId !== customer.id) throw new SemopsError('QUOTE_NOT_FOUND');
      return quoteView(s);
    },

    openSealedToken,
    verifiedToken,
    /** Opens a JWE another processor sealed to this one. */
    openSealed: (sealed: string): Promise<unknown> => decryptJson(sealed, deps.encryptionKey),

    refund,
    listRefunds,
    approve,
    approveWithPin,
    payInstalment,

    async get(customer: Customer, id: string) {
      const p = await row(id);
      if (!p || p.customer_id !== customer.id) throw new SemopsError('PAYMENT_NOT_FOUND');
      return paymentView(p);
    },

    async list(customer: Customer, limit = 50) {
      const rows = await q.all<PaymentRow>`SELECT * FROM payments WHERE customer_id = ${customer.id}
        ORDER BY created_at DESC LIMIT ${limit}`;
      return rows.map(paymentView);
    },

    /** Admin view of any payment on this node (payer side or payee side). */
    async find(id: string) {
      const p = await row(id);
      if (!p) return undefined;
      const fees = p.fees === null ? undefined : (JSON.parse(p.fees) as TransferFees);
      return { side: 'payer' as const, ...paymentView(p), state: p.state, ...(fees ? { fees } : {}) };
    },

    onEvents,
    reconcile,
  };
}

export type PaymentService = ReturnType<typeof createPaymentService>;
