/**
 * Approvals of a payment by the customer, whatever the channel: a device-signed approval carrying the PIN, the
 * PIN alone over SMS and USSD, or an instalment of a mandate approved earlier. Each is bound to the request the
 * customer resolved (payee, currency, amount) and, for a request in another currency, to the quote they were
 * shown; then the payment is recorded, reserved and executed (`flow.ts`).
 */
import { isUniqueViolation, parse } from '@semops/node';
import {
  APPROVAL_TYP,
  MAX_APPROVAL_TTL_MS,
  MAX_CLOCK_SKEW_MS,
  SemopsError,
  approval as approvalSchema,
  newId,
  peekJws,
  randomToken,
  verifyJson,
  type MoneyWire,
  type RequestToken,
} from '@semops/protocol';
import type { Customer, Device } from '../customers/service.js';
import { quoteView, type FxQuoteView, type StoredQuote } from '../fx/service.js';
import { paymentFxFrom, reservationCommands } from './fx.js';
import type { PaymentFlow } from './flow.js';
import { paymentView } from './model.js';
import type { PaymentDeps, PinChannel } from './service.js';

/** `active`: the payments this process is working on right now (reconcile leaves them alone). */
export function createPaymentApprovals(deps: PaymentDeps, flow: PaymentFlow, active: Set<string>) {
  const { q, now } = deps;
  const { newPayment, insert, reserveIn, execute } = flow;

  const paymentIdOfNonce = async (nonce: string) =>
    (await q.one<{ id: string }>`SELECT id FROM payments WHERE nonce = ${nonce}`)?.id;

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
    traceId?: string,
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
      const reserving = performance.now();
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
      deps.metrics?.step('payer_reserve', reserving);
      deps.metrics?.payment(p, refused ? 'FAILED' : 'RESERVED', refused?.code);
      if (refused) throw refused;
      return paymentView(await execute({ ...p, state: 'RESERVED' }, traceId));
    } finally {
      active.delete(p.id);
    }
  }

  /** A request for money the customer declined in their inbox can no longer be paid. */
  async function assertNotDeclined(customer: Customer, payee: string, requestId: string): Promise<void> {
    const declined = await q.one<{ id: string }>`SELECT id FROM inbox WHERE customer_id = ${customer.id}
      AND processor_id = ${payee} AND request_id = ${requestId} AND status = 'DECLINED'`;
    if (declined) throw new SemopsError('REQUEST_CANCELLED', 'You declined this request for money.');
  }

  /** Executes a device-signed, PIN-carrying approval; `traceId`: the wallet request's (logs only). */
  async function approve(
    auth: { device: Device; customer: Customer },
    approvalJws: string,
    traceId?: string,
  ) {
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
        : await quoteToApply(customer, t, a.amount, a.quoteId ? await deps.fx.get(a.quoteId) : undefined, t0);
    const pin = await deps.customers.decryptPin(a.pin);
    return pay(customer, device.id, a.nonce, t, a.amount.value, pin, t0, quote, traceId);
  }

  /**
   * Executes an approval by PIN alone, for SMS and USSD: there the operator's network has authenticated
   * the SIM the message came from, which stands in for the device signature. The same checks as for a
   * device approval bind it to what the customer was shown (request, payee, currency, amount) — for a
   * conversion, exactly the quote `quoteId` the channel showed with the PIN prompt, which must still hold
   * (never another quote made meanwhile elsewhere). Without it, or when it expired or was used,
   * QUOTE_NOT_FOUND / QUOTE_EXPIRED carry a new quote to show.
   * @example await payments.approveWithPin(customer, { requestId, payee: 'mno-b' }, { value: '1250', currency: 'EUR' }, pin, 'sms')
   */
  async function approveWithPin(
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
  }

  /**
   * Pays one instalment of a mandate (PIN and device signature checked when it was approved): the same request
   * checks, limits and execution as an approval, once per `nonce` (derived from mandate and sequence).
   * With `nonce` null it only checks the request and returns it (when the mandate is approved).
   */
  async function payInstalment(
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
  }

  return {
    checkedRequest,
    newQuote,
    assertNotDeclined,
    approve,
    approveWithPin,
    payInstalment,
  };
}
