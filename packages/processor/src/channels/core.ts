/**
 * What SMS and USSD share: the customer behind a phone number, a payment request turned into what a
 * feature phone shows, the amount a customer typed, payment by PIN, balance, mini statement, and the short
 * text each failure becomes. The operator's network authenticates the SIM, so the phone number is the
 * customer's identity here and the PIN the second factor.
 */
import type { Ledger } from '@semops/ledger';
import {
  ERRORS,
  SemopsError,
  formatAmount,
  isErrorCode,
  parseAmount,
  type ErrorCode,
  type MoneyWire,
} from '@semops/protocol';
import type { Customer, CustomerService } from '../customers/service.js';
import type { PaymentService, PinChannel } from '../payments/service.js';
import { fitLines, fold, showDay, showMerchant, showMoney } from './text.js';

export interface ChannelCoreDeps {
  readonly customers: CustomerService;
  readonly payments: PaymentService;
  readonly ledger: Ledger;
}

/** A resolved payment request as a feature phone shows it. */
export interface Quote {
  readonly requestId: string;
  readonly payee: string;
  /** `Cafe Central, Wien` */
  readonly merchant: string;
  readonly reference: string;
  readonly currency: string;
  /** Set when the merchant fixed the amount; otherwise the customer enters one within min/max. */
  readonly amount?: bigint;
  readonly minAmount?: bigint;
  readonly maxAmount?: bigint;
}

/** The outcome of a payment by PIN, in words. */
export interface PaymentOutcome {
  readonly status: 'COMPLETED' | 'PENDING' | 'FAILED';
  readonly text: string;
  /** The receipt id (or payment id) of a completed payment. */
  readonly receiptId?: string;
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
  AMOUNT_INVALID: 'That amount is not valid.',
  AMOUNT_MISMATCH: 'The amount differs from what the merchant asks.',
  CURRENCY_MISMATCH: 'This request is in another currency than your account.',
  PIN_FORMAT: 'A PIN has 4 to 6 digits.',
  PIN_LOCKED: 'Your PIN is locked after too many wrong tries. Contact your provider to unlock it.',
  INSUFFICIENT_FUNDS: 'Not enough money in your account. Nothing was paid.',
  LIMIT_EXCEEDED: 'This is over a limit of your account. Nothing was paid.',
  RESOLVE_FIRST: 'Please start the payment again.',
  TRANSFER_REJECTED: "The merchant's provider refused the payment. Nothing was paid.",
  TRANSFER_EXPIRED: 'The payment timed out. Nothing was paid.',
  NET_DEBIT_CAP_EXCEEDED: BUSY,
  PARTICIPANT_UNREACHABLE: BUSY,
  PARTICIPANT_NOT_FOUND: 'No provider serves that code. Check it with the merchant.',
  UNAVAILABLE: BUSY,
  INTERNAL: UNKNOWN,
};

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

/** `1.00-20.00 EUR`: the amounts a customer may enter for a request. */
export function rangeText(q: Quote): string {
  const lo = q.minAmount === undefined ? undefined : formatAmount(q.minAmount, q.currency);
  const hi = q.maxAmount === undefined ? undefined : formatAmount(q.maxAmount, q.currency);
  if (lo && hi) return `${lo}-${hi} ${q.currency}`;
  if (lo) return `at least ${lo} ${q.currency}`;
  if (hi) return `up to ${hi} ${q.currency}`;
  return q.currency;
}

export function createChannelCore(deps: ChannelCoreDeps) {
  const { customers, payments, ledger } = deps;

  return {
    /** The active customer holding this phone number; CUSTOMER_NOT_FOUND or ACCOUNT_BLOCKED otherwise. */
    async customerByPhone(phone: string): Promise<Customer> {
      const c = await customers.findByPhone(phone);
      if (!c) throw new SemopsError('CUSTOMER_NOT_FOUND');
      if (c.status !== 'active') throw new SemopsError('ACCOUNT_BLOCKED');
      return c;
    },

    /** Resolves a code typed on the phone (short code, or anything the wallet accepts). */
    async quote(customer: Customer, code: string): Promise<Quote> {
      const r = await payments.resolve(customer, code);
      const big = (m: MoneyWire | undefined) => (m === undefined ? undefined : BigInt(m.value));
      const amount = big(r.amount);
      const minAmount = big(r.minAmount);
      const maxAmount = big(r.maxAmount);
      return {
        requestId: r.requestId,
        payee: r.processorId,
        merchant: showMerchant(r.merchant),
        reference: r.reference,
        currency: r.currency,
        ...(amount === undefined ? {} : { amount }),
        ...(minAmount === undefined ? {} : { minAmount }),
        ...(maxAmount === undefined ? {} : { maxAmount }),
      };
    },

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

    /** Pays a quote with the PIN; every expected failure comes back as a FAILED outcome with its text. */
    async pay(
      customer: Customer,
      q: Quote,
      amount: bigint,
      pin: string,
      channel: PinChannel,
    ): Promise<PaymentOutcome & { readonly error?: SemopsError }> {
      const money = showMoney(amount, q.currency);
      try {
        const view = await payments.approveWithPin(
          customer,
          { requestId: q.requestId, payee: q.payee },
          { value: amount.toString(), currency: q.currency },
          pin,
          channel,
        );
        if (view.status === 'COMPLETED') {
          const rct = receiptIdOf(view.receipt) ?? view.paymentId;
          const b = await customers.balance(customer.id);
          return {
            status: 'COMPLETED',
            text: `Paid ${money} to ${q.merchant}. Receipt ${rct}. Balance ${showMoney(b.balance, b.currency)}.`,
            receiptId: rct,
          };
        }
        if (view.status === 'PENDING') {
          return {
            status: 'PENDING',
            text: `Payment of ${money} to ${q.merchant} is being processed. Send BAL or dial again to check.`,
          };
        }
        const code = isErrorCode(view.error) ? view.error : 'TRANSFER_REJECTED';
        return { status: 'FAILED', text: say(new SemopsError(code)) };
      } catch (e) {
        if (!(e instanceof SemopsError)) throw e;
        return { status: 'FAILED', text: say(e), error: e };
      }
    },

    async balanceText(customer: Customer): Promise<string> {
      const b = await customers.balance(customer.id);
      const text = `Balance ${showMoney(b.balance, b.currency)}`;
      return b.available === b.balance
        ? `${text}.`
        : `${text}, available ${showMoney(b.available, b.currency)}.`;
    },

    /** The last `n` movements of the account, newest first, fitted into `max` characters. */
    async statementText(customer: Customer, n: number, max: number): Promise<string> {
      const transfers = await ledger.listTransfers(customer.accountId, { limit: n * 3 });
      const lines: Array<{ head: string; label: string }> = [];
      for (const t of transfers) {
        if (lines.length >= n) break;
        if (t.pendingId !== undefined || t.state === 'voided' || t.state === 'expired') continue;
        const out = t.debitAccountId === customer.accountId;
        const sign = out ? '-' : '+';
        let label = out ? 'Payment' : 'Received';
        if (t.code === 'deposit') label = 'Deposit';
        else if (t.code === 'payment' && out) {
          try {
            label = fold(
              ((await payments.get(customer, t.id)).merchant as { name: string }).name,
              20,
              'Payment',
            );
          } catch {
            // a payment made elsewhere: keep the generic label
          }
        }
        if (t.state === 'pending') label += ' (pending)';
        lines.push({ head: `${showDay(t.createdAt)} ${sign}${formatAmount(t.amount, t.currency)}`, label });
      }
      if (lines.length === 0) return 'No payments yet.';
      return fitLines(`Last ${lines.length} (${customer.currency}):`, lines, max);
    },
  };
}

export type ChannelCore = ReturnType<typeof createChannelCore>;
