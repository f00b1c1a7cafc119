/**
 * What SMS and USSD share: the customer behind a phone number, a payment request — a merchant's, or one
 * payable to a person found by phone number or `name@processor` (P2P) — turned into what a feature phone
 * shows, the amount a customer typed, whether the account covers it (told before the PIN is asked), payment
 * by PIN, balance, mini statement, and the short text (and stable code) each failure becomes. The operator's network authenticates the SIM, so the phone number is the
 * customer's identity here and the PIN the second factor. A request in another currency is shown with its FX
 * quote (total in the customer's currency, fee, rate) before the PIN is asked; the channel keeps that quote's
 * id with what waits for the PIN (SMS confirmation, USSD session), and the PIN pays at exactly that quote only
 * while it holds — never at another quote made meanwhile —; an expired one is answered with the new quote.
 */
import {
  ERRORS,
  SemopsError,
  formatAmount,
  isErrorCode,
  parseAmount,
  type ErrorCode,
} from '@semops/protocol';
import type { AuditLog } from '@semops/node';
import type { Customer, CustomerService } from '../customers/service.js';
import { lastMovements, type StatementDeps } from '../customers/statement.js';
import type { PaymentService, PinChannel } from '../payments/service.js';
import type { P2pService } from '../p2p/service.js';
import type { BillService } from '../bills/service.js';
import type { LimitService } from '../limits/service.js';
import { createPayees, rangeText, type Quote } from './payees.js';

export { rangeText, type Quote } from './payees.js';
import type { FxQuoteView } from '../fx/service.js';
import { fitLines, fold, period, showDay, showMoney } from './text.js';

export interface ChannelCoreDeps {
  readonly customers: CustomerService;
  readonly payments: PaymentService;
  /** Sending money to a phone number or `name@processor`, and the inbox of requests for money. */
  readonly p2p: P2pService;
  /** Bills by biller code, and airtime. */
  readonly bills?: BillService;
  /** Checked before the PIN is asked (and again when the payment is made). */
  readonly limits?: LimitService;
  /** The account's movements and who is on the other side (mini statement). */
  readonly statement: StatementDeps;
  /** Where blocks from a phone are recorded. */
  readonly audit?: AuditLog;
}

/** What a phone is answered: the text, and the stable code of the failure it reports, if it reports one. */
export interface Said {
  readonly text: string;
  readonly code?: ErrorCode;
}

/** The outcome of a payment by PIN, in words. */
export interface PaymentOutcome extends Said {
  readonly status: 'COMPLETED' | 'PENDING' | 'FAILED';
  /** The receipt id (or payment id) of a completed payment. */
  readonly receiptId?: string;
  /** The quote had expired (or was used): nothing was paid; this is the new one to show. */
  readonly requote?: FxQuoteView;
}

/**
 * An FX quote in a few words: `4044.13 HUF incl. fee 100.00 HUF, 1 EUR = 394.412250 HUF` (without the fee
 * part when there is none).
 */
export function quoteText(v: FxQuoteView): string {
  const fee = BigInt(v.fee.value) > 0n ? ` incl. fee ${showMoney(v.fee.value, v.fee.currency)}` : '';
  return `${showMoney(v.total.value, v.total.currency)}${fee}, ${v.rate}`;
}

/** Seconds a quote still holds at `now`, rounded (at least 1). */
export function quoteSeconds(v: FxQuoteView, now: number): number {
  return Math.max(1, Math.round((v.expiresAt - now) / 1000));
}

const BUSY = 'The service is busy. Nothing was paid; please try again later.';
/** For failures whose effect is unknown: the customer checks before trying again. */
const UNKNOWN = 'Something went wrong on our side. Check your balance before trying again.';

/** Short, actionable texts for the failures a phone user can meet. */
const TEXTS: Partial<Record<ErrorCode, string>> = {
  CUSTOMER_NOT_FOUND: 'This number has no account here. Ask your bank or mobile operator to open one.',
  ACCOUNT_BLOCKED: 'Your account is blocked. Please contact your provider.',
  CODE_INVALID: 'That payment code is not valid. Check the 10 digits and try again.',
  REQUEST_NOT_FOUND: 'No payment matches that code. Check it with the merchant.',
  REQUEST_EXPIRED: 'This payment request has expired. Ask the merchant for a new code.',
  REQUEST_ALREADY_PAID: 'This payment request was already paid.',
  REQUEST_CANCELLED: 'The merchant cancelled this payment request.',
  REQUEST_TOKEN_INVALID: 'That payment request could not be verified. Nothing was paid.',
  AMOUNT_REQUIRED: 'Please enter an amount.',
  AMOUNT_INVALID: 'That amount is not valid. Write it like 10 or 10.50.',
  AMOUNT_MISMATCH: 'The amount differs from what the merchant asks.',
  CURRENCY_MISMATCH: 'This request is in another currency than your account.',
  RATE_NOT_AVAILABLE: 'This request is in a currency we cannot convert to. Nothing was paid.',
  QUOTE_EXPIRED: 'The exchange rate expired. Nothing was paid; start the payment again.',
  QUOTE_NOT_FOUND: 'Please start the payment again to see the exchange rate.',
  QUOTE_MISMATCH: 'Please start the payment again to see the exchange rate.',
  PIN_FORMAT: 'A PIN has 4 to 6 digits.',
  PIN_LOCKED: 'Your PIN is locked after too many wrong tries. Contact your provider to unlock it.',
  INSUFFICIENT_FUNDS: 'Not enough money in your account. Nothing was paid.',
  LIMIT_EXCEEDED: 'This is over a limit of your account. Nothing was paid.',
  RESOLVE_FIRST: 'Please start the payment again.',
  CONFIRMATION_NOT_FOUND:
    'No payment is waiting for your PIN. To pay, send PAY <code>; to send, SEND <phone> <amount>.',
  APPROVAL_EXPIRED: 'Your confirmation expired. Nothing was paid; send the command again.',
  ALIAS_NOT_FOUND: 'No account found for that number or name. Check it and include the country code.',
  BILLER_NOT_FOUND: 'No biller has that code. Check the biller code on your bill.',
  ACCOUNT_REFERENCE_INVALID: 'That account number is not valid for this biller. Check it on your bill.',
  AIRTIME_NOT_AVAILABLE: 'No mobile operator on the network serves that number.',
  VALIDATION_FAILED: 'Sorry, we did not understand that. Send HELP for the commands.',
  TRANSFER_REJECTED: "The merchant's provider refused the payment. Nothing was paid.",
  TRANSFER_EXPIRED: 'The payment timed out. Nothing was paid.',
  NET_DEBIT_CAP_EXCEEDED: BUSY,
  PARTICIPANT_UNREACHABLE: BUSY,
  PARTICIPANT_NOT_FOUND: 'No provider serves that code. Check it with the merchant.',
  UNAVAILABLE: BUSY,
  OVERLOADED: BUSY,
  INTERNAL: UNKNOWN,
};

/** The text and code a failure becomes on a phone. */
export function refusal(e: unknown): Said {
  return { text: say(e), code: e instanceof SemopsError ? e.code : 'INTERNAL' };
}

/** The text a failure becomes on a phone (never containing what the customer typed). */
export function say(e: unknown): string {
  if (!(e instanceof SemopsError)) return UNKNOWN;
  if (e.code === 'PIN_INVALID') {
    const left = (e.details as { attemptsLeft?: number } | undefined)?.attemptsLeft;
    return left === undefined ? 'Wrong PIN.' : `Wrong PIN; ${left} ${left === 1 ? 'try' : 'tries'} left.`;
  }
  // These carry what the customer needs in their own message (the amount asked, the range allowed).
  if (OWN_MESSAGE.has(e.code) && e.message !== ERRORS[e.code].message) return e.message;
  return TEXTS[e.code] ?? ERRORS[e.code].message;
}

const OWN_MESSAGE: ReadonlySet<ErrorCode> = new Set([
  'AMOUNT_MISMATCH',
  'AMOUNT_OUT_OF_RANGE',
  'CURRENCY_MISMATCH',
  'INSUFFICIENT_FUNDS',
  'LIMIT_EXCEEDED',
  'REQUEST_NOT_FOUND',
  'VALIDATION_FAILED',
]);

/** The receipt id inside a signed receipt (JWS), for the customer to quote. */
function receiptIdOf(jws: string | undefined): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jws?.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      receiptId?: unknown;
    };
    return typeof payload.receiptId === 'string' ? payload.receiptId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How paying a quote reads, for an amount shown as `12.50 EUR`: before the PIN (`Pay 12.50 EUR to Cafe
 * Central`, `Send 5.00 EUR to Ben O.`, `Buy 5.00 EUR airtime for your phone`; `short` without the payee),
 * once done (a sentence), and while it is being processed.
 */
export function words(q: Quote) {
  switch (q.kind) {
    case 'send':
      return {
        short: (m: string) => `Send ${m}`,
        ask: (m: string) => `Send ${m} to ${q.merchant}`,
        done: (m: string) => `Sent ${m} to ${period(q.merchant)}`,
        pending: (m: string) => `Sending ${m} to ${q.merchant}`,
      };
    case 'airtime':
      return {
        short: (m: string) => `Buy ${m} airtime`,
        ask: (m: string) => `Buy ${m} airtime for ${q.merchant}`,
        done: (m: string) => `Bought ${m} airtime for ${period(q.merchant)}`,
        pending: (m: string) => `Airtime of ${m} for ${q.merchant}`,
      };
    case undefined:
      return {
        short: (m: string) => `Pay ${m}`,
        ask: (m: string) => `Pay ${m} to ${q.merchant}`,
        done: (m: string) => `Paid ${m} to ${period(q.merchant)}`,
        pending: (m: string) => `Payment of ${m} to ${q.merchant}`,
      };
  }
}

export function createChannelCore(deps: ChannelCoreDeps) {
  const { customers, payments } = deps;

  return {
    /** Blocks the customer on every channel (SMS `BLOCK`, USSD menu) and says so. */
    async block(c: Customer, channel: 'sms' | 'ussd'): Promise<string> {
      await customers.block(c.id);
      await deps.audit?.append({ actor: `${channel}:${c.phone}`, action: 'customer.block', subject: c.id });
      return 'Your account is now blocked on every channel: no payment can be made. To unblock it, call your provider.';
    },

    /** The active customer holding this phone number; CUSTOMER_NOT_FOUND or ACCOUNT_BLOCKED otherwise. */
    async customerByPhone(phone: string): Promise<Customer> {
      const c = await customers.findByPhone(phone);
      if (!c) throw new SemopsError('CUSTOMER_NOT_FOUND');
      if (c.status !== 'active') throw new SemopsError('ACCOUNT_BLOCKED');
      return c;
    },

    ...createPayees(deps),

    /**
     * The amount to pay: the merchant's when fixed (a typed one must match it), otherwise the typed one in
     * major units (`5`, `5.50`, `5,50`) within the request's range.
     */
    amountFor(q: Quote, typed: string | undefined): bigint {
      let value: bigint | undefined;
      if (typed !== undefined) {
        try {
          value = parseAmount(typed, q.currency);
        } catch {
          throw new SemopsError('AMOUNT_INVALID');
        }
        if (value <= 0n) throw new SemopsError('AMOUNT_INVALID');
      }
      if (q.amount !== undefined) {
        if (value !== undefined && value !== q.amount) {
          throw new SemopsError(
            'AMOUNT_MISMATCH',
            `The merchant asks ${showMoney(q.amount, q.currency)}; send the code without an amount.`,
          );
        }
        return q.amount;
      }
      if (value === undefined) throw new SemopsError('AMOUNT_REQUIRED');
      if (
        (q.minAmount !== undefined && value < q.minAmount) ||
        (q.maxAmount !== undefined && value > q.maxAmount)
      ) {
        throw new SemopsError('AMOUNT_OUT_OF_RANGE', `The amount must be ${rangeText(q)}.`);
      }
      return value;
    },

    /**
     * The FX quote to show for paying `amount` of the request (an unused one that still holds for a while, else
     * a new one), or undefined when the request is in the customer's currency.
     */
    async fxQuote(customer: Customer, q: Quote, amount: bigint): Promise<FxQuoteView | undefined> {
      if (q.currency === customer.currency) return undefined;
      return payments.quote(customer, q.requestId, { value: amount.toString(), currency: q.currency });
    },

    /**
     * Checks, before the PIN is asked, that the account covers what the payment takes from it (`amount`, or
     * the FX quote's total) and that it is within the account's limits: INSUFFICIENT_FUNDS saying what is
     * available, or LIMIT_EXCEEDED naming the limit and what remains. Both are checked again when the PIN
     * pays, with the funds reserved in the same transaction.
     */
    async affordable(customer: Customer, amount: bigint, fx: FxQuoteView | undefined): Promise<void> {
      const charge = fx ? BigInt(fx.total.value) : amount;
      const b = await customers.balance(customer.id);
      if (b.available < charge) {
        throw new SemopsError(
          'INSUFFICIENT_FUNDS',
          `Not enough money: you have ${showMoney(b.available < 0n ? 0n : b.available, b.currency)} available; this needs ${showMoney(charge, customer.currency)}.`,
        );
      }
      await deps.limits?.check(customer.id, charge);
    },

    /**
     * Whether the FX quote `quoteId` shown for this request and amount still holds (always true without
     * conversion; false when none was shown).
     */
    quoteHolds(customer: Customer, q: Quote, amount: bigint, quoteId: string | undefined): Promise<boolean> {
      return payments.quoteHolds(customer, quoteId, q.requestId, {
        value: amount.toString(),
        currency: q.currency,
      });
    },

    /**
     * Pays a request with the PIN — a conversion at exactly the FX quote `fxQuoteId` shown with the PIN
     * prompt —; every expected failure comes back as a FAILED outcome with its text and code (an expired or
     * used quote with the new quote in `requote`).
     */
    async pay(
      customer: Customer,
      q: Quote,
      amount: bigint,
      pin: string,
      channel: PinChannel,
      fxQuoteId?: string,
    ): Promise<PaymentOutcome & { readonly error?: SemopsError }> {
      const money = showMoney(amount, q.currency);
      try {
        const view = await payments.approveWithPin(
          customer,
          { requestId: q.requestId, payee: q.payee },
          { value: amount.toString(), currency: q.currency },
          pin,
          channel,
          fxQuoteId,
        );
        if (view.status === 'COMPLETED') {
          const rct = receiptIdOf(view.receipt) ?? view.paymentId;
          const b = await customers.balance(customer.id);
          const paid = view.fx ? `${money} (${showMoney(view.charged.value, view.charged.currency)})` : money;
          return {
            status: 'COMPLETED',
            text: `${words(q).done(paid)} Receipt ${rct}. Balance ${showMoney(b.balance, b.currency)}.`,
            receiptId: rct,
          };
        }
        if (view.status === 'PENDING') {
          return {
            status: 'PENDING',
            text: `${words(q).pending(money)} is being processed. Send BAL or dial again to check.`,
          };
        }
        const code = isErrorCode(view.error) ? view.error : 'TRANSFER_REJECTED';
        return { status: 'FAILED', ...refusal(new SemopsError(code)) };
      } catch (e) {
        if (!(e instanceof SemopsError)) throw e;
        const requote = (e.details as { quote?: FxQuoteView } | undefined)?.quote;
        if (requote && (e.code === 'QUOTE_EXPIRED' || e.code === 'QUOTE_NOT_FOUND')) {
          return {
            status: 'FAILED',
            text: `The exchange rate expired; nothing was paid. New: ${quoteText(requote)}.`,
            code: e.code,
            error: e,
            requote,
          };
        }
        return { status: 'FAILED', ...refusal(e), error: e };
      }
    },

    async balanceText(customer: Customer): Promise<string> {
      const b = await customers.balance(customer.id);
      const text = `Balance ${showMoney(b.balance, b.currency)}`;
      return b.available === b.balance
        ? `${text}.`
        : `${text}, available ${showMoney(b.available, b.currency)}.`;
    },

    /**
     * The last `n` movements of the account, newest first, fitted into `max` characters: each line with the
     * merchant, the person (`To Ben O.`, `From Ben O.`) or where money came from (`From Bank A`,
     * `Refund Cafe Central`, `Deposit`).
     */
    async statementText(customer: Customer, n: number, max: number): Promise<string> {
      const lines = (await lastMovements(deps.statement, customer, n)).map((e) => {
        const amount = `${e.amount < 0n ? '-' : '+'}${formatAmount(e.amount < 0n ? -e.amount : e.amount, e.currency)}`;
        const label = fold(e.description, 24, e.direction === 'out' ? 'Payment' : 'Received');
        return {
          head: `${showDay(Date.parse(e.date))} ${amount}`,
          label: e.state === 'pending' ? `${label} (pending)` : label,
        };
      });
      if (lines.length === 0) return 'No payments yet.';
      return fitLines(`Last ${lines.length} (${customer.currency}):`, lines, max);
    },
  };
}

export type ChannelCore = ReturnType<typeof createChannelCore>;
