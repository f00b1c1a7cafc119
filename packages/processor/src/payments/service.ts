/**
 * Payments on the payer side: resolve a request (fetched from the payee processor through the hub and
 * checked against its signature), approve it (device signature + PIN, bound to request, amount, currency and
 * payee), reserve the funds, prepare the transfer at the hub, and settle it — post or void — when the
 * outcome is known, also after a crash (reconcile). A request in another currency than the customer's is
 * converted at a quote the customer was shown before the PIN (`fx.ts` beside this file, `../fx/`).
 */
import type { Ledger, LedgerCommand } from '@semops/ledger';
import { isUniqueViolation, parse, type Sql, type Log } from '@semops/node';
import {
  APPROVAL_TYP,
  MAX_APPROVAL_TTL_MS,
  MAX_CLOCK_SKEW_MS,
  RECEIPT_TYP,
  REQUEST_TYP,
  SemopsError,
  approval as approvalSchema,
  decryptJson,
  newId,
  peekJws,
  receipt as receiptSchema,
  MAX_LOOKUPS,
  isErrorCode,
  requestToken,
  routingPrefixOf,
  verifyJson,
  randomToken,
  type Key,
  type MoneyWire,
  type PrepareResult,
  type RequestRef,
  type RequestToken,
  type TransferEvent,
  type TransferFees,
  type TransferPrepare,
} from '@semops/protocol';
import type { Customer, CustomerService, Device } from '../customers/service.js';
import type { RequestService } from '../requests/service.js';
import type { HouseAccounts } from '../house-accounts.js';
import { quoteView, type FxQuoteView, type FxService, type StoredQuote } from '../fx/service.js';
import {
  expectSettled,
  interchangeCommand,
  paymentFxFrom,
  paymentFxOf,
  reservationCommands,
  reservationOutcome,
  settleCommands,
} from './fx.js';
import { merchantInfoOf, type Merchant } from '../merchants/service.js';
import type { HubLink } from '../hub/link.js';
import { parseCode } from './codes.js';
import { purposeOf } from '../requests/payee-bookings.js';
import { moneyText, type NotificationService } from '../notifications/service.js';
import type { LimitService } from '../limits/service.js';

export type PaymentState = 'NEW' | 'RESERVED' | 'COMMITTED' | 'ABORTED' | 'FAILED';

/** Channels where the customer approves with the PIN alone (no device key). */
export type PinChannel = 'sms' | 'ussd';

interface PaymentRow {
  id: string;
  /** The customer who pays; null for a merchant's refund (`merchant_id`, `refund_of`). */
  customer_id: string | null;
  merchant_id: string | null;
  refund_of: string | null;
  device_id: string;
  request_id: string;
  payee: string;
  merchant: string;
  reference: string;
  amount: string;
  currency: string;
  state: PaymentState;
  reason: string | null;
  receipt: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
  /** A converted payment: JSON `PaymentFx` (fx.ts). */
  fx: string | null;
  /** Total debited in the customer's currency (minor units); what spending limits count. */
  charged: string | null;
  /** The hub's fees (JSON `TransferFees`) once known. */
  fees: string | null;
}

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
}

/** What the customer sees of a payment: `charged` is what their account was debited, in its currency. */
export function paymentView(p: PaymentRow) {
  const fx = paymentFxOf(p);
  return {
    paymentId: p.id,
    status:
      p.state === 'COMMITTED'
        ? 'COMPLETED'
        : p.state === 'ABORTED' || p.state === 'FAILED'
          ? 'FAILED'
          : 'PENDING',
    requestId: p.request_id,
    payee: p.payee,
    merchant: JSON.parse(p.merchant) as unknown,
    reference: p.reference,
    amount: { value: p.amount, currency: p.currency },
    charged: fx ? fx.source : { value: p.charged ?? p.amount, currency: p.currency },
    ...(fx ? { fx: { quoteId: fx.quoteId, rate: fx.rateShown, fee: fx.fee } } : {}),
    ...(p.reason ? { error: p.reason } : {}),
    ...(p.receipt ? { receipt: p.receipt } : {}),
    createdAt: p.created_at,
  };
}

/** What a merchant sees of a refund it made: never who received it. */
export function refundView(p: PaymentRow) {
  const { status, error } = paymentView(p);
  return {
    refundId: p.id,
    paymentId: p.refund_of ?? '',
    amount: { value: p.amount, currency: p.currency },
    status,
    ...(error ? { error } : {}),
    createdAt: p.created_at,
  };
}

export function createPaymentService(deps: PaymentDeps) {
  const { q, ledger, now, processorId } = deps;
  /** Payments this process is working on right now; reconcile leaves them alone. */
  const active = new Set<string>();

  async function row(id: string): Promise<PaymentRow | undefined> {
    return q.one<PaymentRow>`SELECT * FROM payments WHERE id = ${id}`;
  }

  /** The open transaction of `tx`, for the ledger to join. */
  function within(tx: Sql) {
    if (tx.within === undefined) throw new Error('payments: ledger legs need an open transaction');
    return tx.within;
  }

  /**
   * Reserves a recorded payment (state NEW) in the transaction `tx` that recorded it: `checks` first (PIN,
   * limits), then the ledger legs. Ends RESERVED, or FAILED with the refusal, which it returns — a wrong PIN's
   * try and the failure commit like the reservation would, and a quote the payment took is free again.
   */
  async function reserveIn(
    tx: Sql,
    p: PaymentRow,
    legs: readonly LedgerCommand[],
    checks: () => Promise<void>,
  ): Promise<SemopsError | undefined> {
    try {
      await checks();
      const refused = reservationOutcome(await ledger.executeWithin(within(tx), legs, { atomic: true }));
      if (refused) throw new SemopsError(refused);
    } catch (e) {
      if (!(e instanceof SemopsError)) throw e;
      await tx.run`UPDATE payments SET state = 'FAILED', reason = ${e.code}, updated_at = ${now()}
        WHERE id = ${p.id} AND state = 'NEW'`;
      const fx = paymentFxOf(p);
      if (fx) await deps.fx.release(fx.quoteId, p.id, tx);
      return e;
    }
    await tx.run`UPDATE payments SET state = 'RESERVED', updated_at = ${now()} WHERE id = ${p.id} AND state = 'NEW'`;
    return undefined;
  }

  const paymentIdOfNonce = async (nonce: string) =>
    (await q.one<{ id: string }>`SELECT id FROM payments WHERE nonce = ${nonce}`)?.id;

  // ---- hub batching: lookups asked in the same tick travel in one message ----
  let lookups: Array<{ ref: RequestRef; resolve: (sealed: string) => void; reject: (e: unknown) => void }> =
    [];
  function lookupAtHub(ref: RequestRef): Promise<string> {
    return new Promise((resolve, reject) => {
      lookups.push({ ref, resolve, reject });
      if (lookups.length === 1) setImmediate(() => void flushLookups());
    });
  }
  async function flushLookups(): Promise<void> {
    const batch = lookups.slice(0, MAX_LOOKUPS);
    lookups = lookups.slice(MAX_LOOKUPS);
    if (lookups.length > 0) setImmediate(() => void flushLookups());
    try {
      const { results } = await deps.hub.send('request.lookups', { refs: batch.map((b) => b.ref) });
      batch.forEach((b, i) => {
        const r = results[i];
        if (r === undefined) b.reject(new SemopsError('PARTICIPANT_UNREACHABLE', 'The hub gave no answer.'));
        else if ('sealed' in r) b.resolve(r.sealed);
        else {
          const code = isErrorCode(r.error.code) ? r.error.code : 'PARTICIPANT_UNREACHABLE';
          b.reject(new SemopsError(code, r.error.message));
        }
      });
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }

  // ---- hub batching: prepares issued in the same tick travel in one message ----
  let queue: Array<{
    p: TransferPrepare;
    resolve: (r: PrepareResult) => void;
    reject: (e: unknown) => void;
  }> = [];
  function prepareAtHub(p: TransferPrepare): Promise<PrepareResult> {
    return new Promise((resolve, reject) => {
      queue.push({ p, resolve, reject });
      if (queue.length === 1) setImmediate(() => void flushPrepares());
    });
  }
  async function flushPrepares(): Promise<void> {
    const batch = queue.slice(0, 500);
    queue = queue.slice(500);
    if (queue.length > 0) setImmediate(() => void flushPrepares());
    try {
      const res = await deps.hub.send(
        'transfer.prepare',
        { transfers: batch.map((b) => b.p) },
        { timeoutMs: 20_000 },
      );
      const byTransfer = new Map(res.results.map((r) => [r.transferId, r]));
      for (const b of batch) {
        b.resolve(byTransfer.get(b.p.transferId) ?? { transferId: b.p.transferId, state: 'UNKNOWN' });
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }

  async function fetchToken(ref: RequestRef): Promise<RequestToken> {
    const local =
      'shortCode' in ref
        ? routingPrefixOf(ref.shortCode) === deps.routingPrefix
        : ref.processorId === processorId;
    let token: string;
    if (local) {
      token = await deps.requests.tokenFor(ref);
    } else {
      token = await openSealedToken(await lookupAtHub(ref));
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
    if (!payload.success || payload.data.processorId !== kid) throw new SemopsError('REQUEST_TOKEN_INVALID');
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
   * The prepare the hub gets for a payment (the same on every retry): a merchant's request is a purchase (the
   * hub's fee schedule applies); a person's request and an agent's till (cash-out) are paid by a P2P
   * transfer (`purposeOf`, read from the signed request's payee); a refund is neither. A conversion reports
   * the total debited in the customer's currency, the FX margin kept and the conversion fee (when not 0).
   */
  function prepareOf(p: PaymentRow): TransferPrepare {
    const fx = paymentFxOf(p);
    const payee = JSON.parse(p.merchant) as { id?: unknown; category?: unknown };
    const purpose = purposeOf({
      id: typeof payee.id === 'string' ? payee.id : '',
      category: typeof payee.category === 'string' ? payee.category : '',
    });
    return {
      transferId: p.id,
      requestId: p.request_id,
      payer: processorId,
      payee: p.payee,
      amount: { value: p.amount, currency: p.currency },
      expiresAt: Number(p.expires_at),
      ...(p.refund_of === null ? { purpose } : { refundOf: p.refund_of }),
      ...(fx
        ? {
            fx: {
              source: fx.source,
              margin: fx.marginCredit,
              ...(BigInt(fx.fee.value) > 0n ? { fee: fx.fee } : {}),
              rate: fx.rateShown.slice(0, 40),
            },
          }
        : {}),
    };
  }

  /** Prepare → settle a reserved payment; returns it as it then is (final, or pending when unknown). */
  async function execute(p: PaymentRow): Promise<PaymentRow> {
    const prepare = prepareOf(p);
    let settled: PaymentRow | undefined;
    if (p.payee === processorId) {
      const f = await deps.requests.accept(prepare);
      if (f.decision === 'FULFIL' && f.receipt) {
        settled = await settle(p.id, 'COMMITTED', undefined, await checkedReceipt(f.receipt, p));
        // Credit the merchant only if the payer side really committed (reconcile may have voided it).
        if (settled?.state === 'COMMITTED') await deps.requests.commit(p.id);
        else await deps.requests.abort(p.id);
      } else {
        settled = await settle(p.id, 'ABORTED', f.error?.code ?? 'TRANSFER_REJECTED');
      }
    } else {
      let r: PrepareResult;
      try {
        r = await prepareAtHub(prepare);
      } catch (e) {
        if (
          e instanceof SemopsError &&
          e.code !== 'PARTICIPANT_UNREACHABLE' &&
          e.code !== 'INTERNAL' &&
          e.code !== 'UNAVAILABLE'
        ) {
          // The hub refused the message as a whole: nothing was reserved there.
          settled = await settle(p.id, 'ABORTED', e.code);
        } else {
          deps.log.warn({ paymentId: p.id }, 'prepare outcome unknown; reconcile will settle it');
        }
        return settled ?? (await row(p.id))!;
      }
      if (r.state === 'COMMITTED')
        settled = await settle(p.id, 'COMMITTED', undefined, await checkedReceipt(r.receipt, p), r.fees);
      else if (r.state === 'ABORTED' || r.error)
        settled = await settle(p.id, 'ABORTED', r.error?.code ?? 'TRANSFER_REJECTED');
    }
    return settled ?? (await row(p.id))!;
  }

  /**
   * Opens and verifies the payee processor's sealed receipt; a bad one is logged and dropped (the hub's
   * commit stands). Returns the signed receipt (JWS) the customer keeps.
   */
  async function checkedReceipt(sealed: string | undefined, p: PaymentRow): Promise<string | undefined> {
    if (!sealed) return undefined;
    try {
      const { receipt: jws } = (await decryptJson(sealed, deps.encryptionKey)) as { receipt: string };
      const key = await deps.hub.resolveKey(p.payee);
      const r = receiptSchema.parse(key ? await verifyJson(jws, key, RECEIPT_TYP) : undefined);
      if (r.paymentId === p.id && r.amount.value === p.amount && r.processorId === p.payee) return jws;
    } catch {
      // fall through
    }
    deps.log.error({ paymentId: p.id }, 'payee receipt did not verify');
    return undefined;
  }

  /**
   * Applies the network's outcome to a payment exactly once, in one transaction: the state, the ledger legs
   * posted or voided (every leg of a conversion together), the receipt, the customer's notification and, with
   * the hub's `fees`, the interchange received for a purchase. Returns the payment as it then is.
   */
  async function settle(
    id: string,
    outcome: 'COMMITTED' | 'ABORTED',
    reason?: string,
    receipt?: string,
    fees?: TransferFees,
  ): Promise<PaymentRow | undefined> {
    const seen = await row(id);
    if (!seen || seen.state === 'FAILED' || seen.state === 'ABORTED') return seen;
    // The hub's notification of a commit this node already settled from the answer: nothing new to keep
    // (the interchange is booked in the transaction that stored the fees).
    if (
      seen.state === 'COMMITTED' &&
      outcome === 'COMMITTED' &&
      (receipt === undefined || seen.receipt !== null) &&
      (fees === undefined || seen.fees !== null)
    ) {
      return seen;
    }
    // Worked out before the transaction (the house accounts may have to be opened first).
    const storedFees = seen.fees === null ? undefined : (JSON.parse(seen.fees) as TransferFees);
    const ic =
      outcome === 'COMMITTED' ? await interchangeCommand(seen, fees ?? storedFees, deps.house) : undefined;
    return q.tx(async (tx) => {
      const p = await tx.one<PaymentRow>`SELECT * FROM payments WHERE id = ${id}`;
      if (!p) return undefined;
      const t = now();
      if (fees && outcome === 'COMMITTED' && p.fees === null) {
        // Kept on the row, so that the interchange can still be booked when it is learnt before the commit.
        await tx.run`UPDATE payments SET fees = ${JSON.stringify(fees)} WHERE id = ${id} AND fees IS NULL`;
      }
      if (p.state === 'NEW') {
        // Nothing was reserved (the reservation commits with RESERVED): a failure like any before money moved,
        // so the quote of a conversion is given back too.
        await tx.run`UPDATE payments SET state = 'FAILED', reason = ${reason ?? 'TRANSFER_REJECTED'}, updated_at = ${t}
          WHERE id = ${id} AND state = 'NEW'`;
        const fx = paymentFxOf(p);
        if (fx) await deps.fx.release(fx.quoteId, id, tx);
      } else if (p.state === 'COMMITTED' && outcome === 'COMMITTED') {
        // The hub's notification can overtake its answer to the prepare: the receipt, or the fees and so the
        // interchange (once, by its id), may arrive second.
        if (receipt && !p.receipt) {
          await tx.run`UPDATE payments SET receipt = ${receipt} WHERE id = ${id} AND receipt IS NULL`;
        }
        if (ic) expectSettled(await ledger.executeWithin(within(tx), [ic], { atomic: true }));
      } else if (p.state === 'RESERVED' && outcome === 'COMMITTED') {
        const legs = [...settleCommands(p, 'post'), ...(ic ? [ic] : [])];
        expectSettled(await ledger.executeWithin(within(tx), legs, { atomic: true }));
        await tx.run`UPDATE payments SET state = 'COMMITTED', reason = NULL,
            receipt = COALESCE(${receipt ?? null}, receipt), updated_at = ${t}
          WHERE id = ${id} AND state = 'RESERVED'`;
        if (p.customer_id !== null) {
          const amount = { value: p.amount, currency: p.currency };
          const fx = paymentFxOf(p);
          const to = (JSON.parse(p.merchant) as { name?: string }).name ?? p.payee;
          await deps.notifications?.record(
            p.customer_id,
            'payment.sent',
            fx
              ? `You paid ${moneyText(amount)} (${moneyText(fx.source)}) to ${to}.`
              : `You paid ${moneyText(amount)} to ${to}.`,
            fx?.source ?? amount,
            undefined,
            tx,
          );
        }
      } else if (p.state === 'RESERVED') {
        expectSettled(await ledger.executeWithin(within(tx), settleCommands(p, 'void'), { atomic: true }));
        await tx.run`UPDATE payments SET state = 'ABORTED', reason = ${reason ?? 'TRANSFER_REJECTED'}, updated_at = ${t}
          WHERE id = ${id} AND state = 'RESERVED'`;
      }
      return tx.one<PaymentRow>`SELECT * FROM payments WHERE id = ${id}`;
    });
  }

  /**
   * What every approval must match, whatever its channel: a request this customer resolved, with exactly its
   * payee, currency and amount (dynamic linking), not expired, and in the customer's currency unless
   * `convert` (the approval then needs a quote). Returns the request.
   */
  async function checkedRequest(
    customer: Customer,
    requestId: string,
    payee: string,
    amount: MoneyWire,
    t0: number,
    convert: boolean,
  ): Promise<RequestToken> {
    const res = await q.one<{ token: string }>`SELECT token FROM resolutions
      WHERE customer_id = ${customer.id} AND request_id = ${requestId}`;
    if (!res) throw new SemopsError('RESOLVE_FIRST');
    const t = JSON.parse(res.token) as RequestToken;
    await assertNotDeclined(customer, t.processorId, t.requestId);
    if (payee !== t.processorId) throw new SemopsError('PAYEE_MISMATCH');
    if (amount.currency !== t.currency) throw new SemopsError('CURRENCY_MISMATCH');
    const value = BigInt(amount.value);
    if (t.amount) {
      if (value !== BigInt(t.amount.value)) throw new SemopsError('AMOUNT_MISMATCH');
    } else if (
      (t.minAmount && value < BigInt(t.minAmount.value)) ||
      (t.maxAmount && value > BigInt(t.maxAmount.value))
    ) {
      throw new SemopsError('AMOUNT_OUT_OF_RANGE');
    }
    if (t.expiresAt <= t0) throw new SemopsError('REQUEST_EXPIRED');
    if (customer.currency !== t.currency && !convert) {
      throw new SemopsError(
        'CURRENCY_MISMATCH',
        `Your account is in ${customer.currency}; this request is in ${t.currency}.`,
      );
    }
    return t;
  }

  /**
   * The quote to show for paying `amount` of request `t` from the customer's account: an unused one that still
   * holds for a while, or a new one (`FxService.offer`).
   */
  async function newQuote(customer: Customer, t: RequestToken, amount: MoneyWire): Promise<FxQuoteView> {
    return quoteView(
      await deps.fx.offer({
        customerId: customer.id,
        requestId: t.requestId,
        payee: t.processorId,
        amount: { value: BigInt(amount.value), currency: amount.currency },
        payerCurrency: customer.currency,
      }),
    );
  }

  /**
   * The quote an approval applies: this customer's, for exactly this request, payee and amount, unused and
   * still valid at `t0`. Otherwise QUOTE_NOT_FOUND / QUOTE_MISMATCH / QUOTE_EXPIRED, the first and the last
   * with a fresh quote in `details.quote` to show the customer instead. An expired quote is never applied.
   */
  async function quoteToApply(
    customer: Customer,
    t: RequestToken,
    amount: MoneyWire,
    s: StoredQuote | undefined,
    t0: number,
  ): Promise<StoredQuote> {
    if (!s || s.customerId !== customer.id) {
      throw new SemopsError(
        'QUOTE_NOT_FOUND',
        `This request is in ${t.currency} and your account in ${customer.currency}: approve it with the quote you were shown.`,
        { quote: await newQuote(customer, t, amount) },
      );
    }
    if (
      s.requestId !== t.requestId ||
      s.payee !== t.processorId ||
      s.amount.currency !== amount.currency ||
      s.amount.value !== BigInt(amount.value) ||
      s.payerCurrency !== customer.currency
    ) {
      throw new SemopsError('QUOTE_MISMATCH', undefined, { stored: quoteView(s) });
    }
    if (s.paymentId !== null) {
      throw new SemopsError(
        'QUOTE_EXPIRED',
        'That quote was already used for a payment; check the new quote and approve again.',
        { quote: await newQuote(customer, t, amount), stored: quoteView(s) },
      );
    }
    if (!(s.quotedAt <= t0 && t0 < s.expiresAt)) {
      throw new SemopsError('QUOTE_EXPIRED', undefined, {
        quote: await newQuote(customer, t, amount),
        stored: quoteView(s),
      });
    }
    return s;
  }

  /**
   * Records an approved payment under its nonce (accepted once) and, in the same transaction, takes the quote
   * it applies, checks the PIN (a wrong one fails the payment and counts a try) and the limits (on the total in
   * the customer's currency) and reserves the funds; then executes it.
   */
  async function pay(
    customer: Customer,
    deviceId: string,
    nonce: string,
    t: RequestToken,
    amount: string,
    /** null: an instalment of a mandate, whose PIN was checked when it was approved. */
    pin: string | null,
    t0: number,
    /** The quote of a conversion (checked by `quoteToApply`). */
    quote?: StoredQuote,
  ): Promise<ReturnType<typeof paymentView>> {
    const p = newPayment(t0, {
      id: newId('pay'),
      customer_id: customer.id,
      merchant_id: null,
      refund_of: null,
      device_id: deviceId,
      request_id: t.requestId,
      payee: t.processorId,
      merchant: JSON.stringify(t.merchant),
      reference: t.reference,
      amount,
      currency: t.currency,
      fx: quote ? JSON.stringify(paymentFxFrom(quote)) : null,
      charged: quote ? quote.total.toString() : amount,
    });
    const legs = await reservationCommands(p, customer.accountId, deps.house);
    let taken = true;
    active.add(p.id);
    try {
      let refused: SemopsError | undefined;
      try {
        refused = await q.tx(async (tx) => {
          await insert(tx, p, nonce);
          if (quote && !(await deps.fx.claim(tx, quote.id, p.id, t0))) {
            taken = false;
            throw new SemopsError('QUOTE_EXPIRED');
          }
          return reserveIn(tx, p, legs, async () => {
            if (pin !== null) await deps.customers.checkPin(customer.id, pin, tx);
            await deps.limits?.check(customer.id, BigInt(p.charged ?? amount), p.id, tx);
          });
        });
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw new SemopsError('APPROVAL_REPLAYED', undefined, { paymentId: await paymentIdOfNonce(nonce) });
        }
        if (!taken && quote) {
          // Another payment took the quote a moment ago: this one shows a new quote instead.
          throw new SemopsError(
            'QUOTE_EXPIRED',
            'That quote was already used for a payment; check the new quote and approve again.',
            {
              quote: await newQuote(customer, t, { value: amount, currency: t.currency }),
              stored: quoteView(quote),
            },
          );
        }
        throw e;
      }
      if (refused) throw refused;
      return paymentView(await execute({ ...p, state: 'RESERVED' }));
    } finally {
      active.delete(p.id);
    }
  }

  /** A payment about to be recorded at `t0`: state NEW, expiring with the transfer's time to live. */
  function newPayment(
    t0: number,
    f: Omit<PaymentRow, 'state' | 'reason' | 'receipt' | 'fees' | 'expires_at' | 'created_at' | 'updated_at'>,
  ): PaymentRow {
    return {
      ...f,
      state: 'NEW',
      reason: null,
      receipt: null,
      fees: null,
      expires_at: t0 + deps.transferTtlMs,
      created_at: t0,
      updated_at: t0,
    };
  }

  /** Records a new payment (state NEW) under its nonce: a second use of the nonce is a unique violation. */
  async function insert(tx: Sql, p: PaymentRow, nonce: string): Promise<void> {
    await tx.run`INSERT INTO payments (id, customer_id, merchant_id, refund_of, device_id, nonce, request_id, payee,
        merchant, reference, amount, currency, state, expires_at, created_at, updated_at, fx, charged)
      VALUES (${p.id}, ${p.customer_id}, ${p.merchant_id}, ${p.refund_of}, ${p.device_id}, ${nonce}, ${p.request_id},
        ${p.payee}, ${p.merchant}, ${p.reference}, ${p.amount}, ${p.currency}, 'NEW', ${p.expires_at},
        ${p.created_at}, ${p.updated_at}, ${p.fx}, ${p.charged})`;
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

  /** A request for money the customer declined in their inbox can no longer be paid. */
  async function assertNotDeclined(customer: Customer, payee: string, requestId: string): Promise<void> {
    const declined = await q.one<{ id: string }>`SELECT id FROM inbox WHERE customer_id = ${customer.id}
      AND processor_id = ${payee} AND request_id = ${requestId} AND status = 'DECLINED'`;
    if (declined) throw new SemopsError('REQUEST_CANCELLED', 'You declined this request for money.');
  }

  /** The refunds of a merchant's payment recorded here (as payer of the refund). */
  async function refundsOf(paymentId: string): Promise<PaymentRow[]> {
    return q.all<PaymentRow>`SELECT * FROM payments WHERE refund_of = ${paymentId} ORDER BY created_at, id`;
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

    /**
     * A merchant refunds (part of) a completed payment it received: the merchant's account is reserved and
     * the refund travels, keyed by the payment id, to the processor of the customer who paid. The merchant
     * never learns who that was. Several partial refunds may add up to the paid amount.
     */
    async refund(m: Merchant, paymentId: string, amount?: MoneyWire) {
      const i = await q.one<{
        id: string;
        payer: string;
        amount: string;
        currency: string;
        request_id: string;
      }>`
        SELECT id, payer, amount, currency, request_id FROM incoming
        WHERE id = ${paymentId} AND merchant_id = ${m.id} AND state = 'COMMITTED' AND refund_of IS NULL`;
      if (!i) throw new SemopsError('PAYMENT_NOT_FOUND');
      if (amount && amount.currency !== i.currency) throw new SemopsError('CURRENCY_MISMATCH');
      const t0 = now();
      const id = newId('pay');
      // Opened before the transaction (opening one is a ledger batch of its own).
      await deps.house.settlement(i.currency);
      const p = await q.tx(async (tx): Promise<PaymentRow> => {
        // Lock the payment's row so that concurrent refunds of it are checked one after another.
        await tx.run`UPDATE incoming SET updated_at = updated_at WHERE id = ${paymentId}`;
        const earlier = await tx.all<{ amount: string }>`SELECT amount FROM payments
          WHERE refund_of = ${paymentId} AND state NOT IN ('ABORTED', 'FAILED')`;
        const left = BigInt(i.amount) - earlier.reduce((s, e) => s + BigInt(e.amount), 0n);
        const value = amount ? BigInt(amount.value) : left;
        if (value <= 0n || value > left) {
          throw new SemopsError('REFUND_EXCEEDS_PAYMENT', undefined, {
            refundable: { value: (left < 0n ? 0n : left).toString(), currency: i.currency },
          });
        }
        const refund = newPayment(t0, {
          id,
          customer_id: null,
          merchant_id: m.id,
          refund_of: paymentId,
          device_id: 'merchant',
          request_id: i.request_id,
          payee: i.payer,
          merchant: JSON.stringify(merchantInfoOf(m)),
          reference: `refund of ${paymentId}`,
          amount: value.toString(),
          currency: i.currency,
          fx: null,
          charged: null,
        });
        await insert(tx, refund, `refund_${id}`);
        // INSUFFICIENT_FUNDS and the like: the refund is recorded FAILED with the code.
        const refused = await reserveIn(
          tx,
          refund,
          await reservationCommands(refund, m.accountId, deps.house),
          async () => undefined,
        );
        return { ...refund, state: refused ? 'FAILED' : 'RESERVED', reason: refused?.code ?? null };
      });
      if (p.state !== 'RESERVED') return refundView(p);
      active.add(id);
      try {
        return refundView(await execute(p));
      } finally {
        active.delete(id);
      }
    },

    async listRefunds(m: Merchant, paymentId: string) {
      const i = await q.one<{ id: string }>`SELECT id FROM incoming
        WHERE id = ${paymentId} AND merchant_id = ${m.id} AND refund_of IS NULL`;
      if (!i) throw new SemopsError('PAYMENT_NOT_FOUND');
      return (await refundsOf(paymentId)).filter((r) => r.merchant_id === m.id).map(refundView);
    },

    /** Executes a device-signed, PIN-carrying approval. */
    async approve(auth: { device: Device; customer: Customer }, approvalJws: string) {
      const { device, customer } = auth;
      const { kid, typ } = peekJws(approvalJws);
      if (typ !== APPROVAL_TYP || kid !== device.id) throw new SemopsError('APPROVAL_INVALID');
      let raw: unknown;
      try {
        raw = await verifyJson(approvalJws, device.key, APPROVAL_TYP);
      } catch {
        throw new SemopsError('APPROVAL_INVALID');
      }
      const a = parse(approvalSchema, raw);
      if (a.deviceId !== device.id) throw new SemopsError('APPROVAL_INVALID');
      const t0 = now();
      if (a.expiresAt <= t0) throw new SemopsError('APPROVAL_EXPIRED');
      if (a.expiresAt > t0 + MAX_APPROVAL_TTL_MS + MAX_CLOCK_SKEW_MS) {
        throw new SemopsError('VALIDATION_FAILED', 'An approval may live at most 5 minutes.');
      }
      const used = await paymentIdOfNonce(a.nonce);
      if (used) throw new SemopsError('APPROVAL_REPLAYED', undefined, { paymentId: used });
      const t = await checkedRequest(customer, a.requestId, a.payee, a.amount, t0, true);
      // A conversion applies the quote the device says the customer saw (before the PIN counts a try).
      const quote =
        t.currency === customer.currency
          ? undefined
          : await quoteToApply(
              customer,
              t,
              a.amount,
              a.quoteId ? await deps.fx.get(a.quoteId) : undefined,
              t0,
            );
      const pin = await deps.customers.decryptPin(a.pin);
      return pay(customer, device.id, a.nonce, t, a.amount.value, pin, t0, quote);
    },

    /**
     * Executes an approval by PIN alone, for SMS and USSD: there the operator's network has authenticated
     * the SIM the message came from, which stands in for the device signature. The same checks as for a
     * device approval bind it to what the customer was shown (request, payee, currency, amount) — for a
     * conversion, exactly the quote `quoteId` the channel showed with the PIN prompt, which must still hold
     * (never another quote made meanwhile elsewhere). Without it, or when it expired or was used,
     * QUOTE_NOT_FOUND / QUOTE_EXPIRED carry a new quote to show.
     * @example await payments.approveWithPin(customer, { requestId, payee: 'mno-b' }, { value: '1250', currency: 'EUR' }, pin, 'sms')
     */
    async approveWithPin(
      customer: Customer,
      request: { readonly requestId: string; readonly payee: string },
      amount: MoneyWire,
      pin: string,
      channel: PinChannel,
      quoteId?: string,
    ) {
      if (customer.status !== 'active') throw new SemopsError('ACCOUNT_BLOCKED');
      if (!/^\d{4,6}$/.test(pin)) throw new SemopsError('PIN_FORMAT');
      const t0 = now();
      const t = await checkedRequest(customer, request.requestId, request.payee, amount, t0, true);
      const quote =
        t.currency === customer.currency
          ? undefined
          : await quoteToApply(
              customer,
              t,
              amount,
              quoteId === undefined ? undefined : await deps.fx.get(quoteId),
              t0,
            );
      const nonce = `${channel}_${randomToken(16)}`;
      return pay(customer, `channel:${channel}`, nonce, t, amount.value, pin, t0, quote);
    },

    /**
     * Pays one instalment of a mandate (PIN and device signature checked when it was approved): the same request
     * checks, limits and execution as an approval, once per `nonce` (derived from mandate and sequence).
     * With `nonce` null it only checks the request and returns it (when the mandate is approved).
     */
    async payInstalment(
      customer: Customer,
      deviceId: string,
      request: { readonly requestId: string; readonly payee: string },
      amount: MoneyWire,
      nonce: string | null,
    ) {
      const t0 = now();
      // No one is there to see a quote: an instalment is paid in the customer's own currency only.
      const t = await checkedRequest(customer, request.requestId, request.payee, amount, t0, false);
      return nonce === null ? t : pay(customer, deviceId, nonce, t, amount.value, null, t0);
    },

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

    /** Outcomes announced by the hub, for payments we made and for payments our merchants received. */
    async onEvents(events: readonly TransferEvent[]): Promise<void> {
      for (const e of events) {
        if (await row(e.transferId)) await settle(e.transferId, e.state, e.reason, undefined, e.fees);
        else if (e.state === 'COMMITTED') await deps.requests.commit(e.transferId);
        else await deps.requests.abort(e.transferId);
      }
    },

    /**
     * Settles every transfer this node has in flight with the hub's view: after a restart, after a lost
     * answer, or when a notification went missing. Runs at start and then periodically.
     */
    async reconcile(olderThanMs = 2000): Promise<number> {
      const cutoff = now() - olderThanMs;
      const mine = (
        await q.all<PaymentRow>`SELECT * FROM payments WHERE state IN ('NEW', 'RESERVED') AND created_at < ${cutoff}
          ORDER BY created_at LIMIT 500`
      ).filter((p) => !active.has(p.id));
      const theirs = await deps.requests.openIncoming(cutoff);
      const t = now();
      let settled = 0;
      const remote: PaymentRow[] = [];
      for (const p of mine) {
        if (p.payee !== processorId) {
          remote.push(p);
          continue;
        }
        // A payment inside this processor interrupted by a crash: once it has expired (so no instance is
        // still working on it), finish what the payee side recorded.
        if (p.expires_at >= t) continue;
        if (p.state === 'NEW') await settle(p.id, 'ABORTED', 'INTERRUPTED');
        else if (await deps.requests.hasIncoming(p.id)) {
          await settle(p.id, 'COMMITTED');
          await deps.requests.commit(p.id);
        } else await settle(p.id, 'ABORTED', 'INTERRUPTED');
        settled++;
      }
      const payeeSide: typeof theirs = [];
      for (const i of theirs) if (!(await row(i.id))) payeeSide.push(i);
      const ids = [...remote.map((p) => p.id), ...payeeSide.map((i) => i.id)];
      if (ids.length === 0) return settled;
      const status = await deps.hub.send('transfer.status', { transferIds: ids.slice(0, 500) });
      const stateOf = new Map(status.transfers.map((s) => [s.transferId, s]));
      for (const p of remote) {
        const s = stateOf.get(p.id);
        if (s?.state === 'COMMITTED') await settle(p.id, 'COMMITTED', undefined, undefined, s.fees);
        else if (s?.state === 'ABORTED') await settle(p.id, 'ABORTED', s.reason);
        else if (s?.state === 'UNKNOWN' || !s) {
          if (p.expires_at + MAX_CLOCK_SKEW_MS < t) await settle(p.id, 'ABORTED', 'TRANSFER_EXPIRED');
          else if (p.state === 'RESERVED') {
            // The hub never got the prepare: send it again (idempotent by transfer id).
            void prepareAtHub(prepareOf(p))
              .then((r) =>
                r.state === 'COMMITTED' || r.state === 'ABORTED'
                  ? settle(p.id, r.state, r.error?.code, undefined, r.fees)
                  : undefined,
              )
              .catch(() => undefined);
            continue;
          } else await settle(p.id, 'ABORTED', 'INTERRUPTED');
        } else continue;
        settled++;
      }
      for (const i of payeeSide) {
        const s = stateOf.get(i.id);
        if (s?.state === 'COMMITTED') await deps.requests.commit(i.id);
        else if (s?.state === 'ABORTED' || (s?.state === 'UNKNOWN' && i.expiresAt + MAX_CLOCK_SKEW_MS < t)) {
          await deps.requests.abort(i.id);
        } else continue;
        settled++;
      }
      return settled;
    },
  };
}

export type PaymentService = ReturnType<typeof createPaymentService>;
