/**
 * What a feature phone can pay, each resolved into a request this customer may approve with the PIN (the same
 * services as the wallet's): a merchant's code, a person by phone number or `name@processor` (P2P), a bill by
 * biller code and account, airtime for a phone, and a request for money waiting in the customer's inbox. A
 * `Quote` is what the phone shows of it; `quoteToWire` / `quoteFromWire` keep one with a USSD session.
 */
import { SemopsError, formatAmount, type MoneyWire } from '@semops/protocol';
import type { Customer } from '../customers/service.js';
import type { PaymentService } from '../payments/service.js';
import type { P2pService } from '../p2p/service.js';
import type { BillService } from '../bills/service.js';
import { fold, showMerchant } from './text.js';

/** A resolved payment request as a feature phone shows it. */
export interface Quote {
  readonly requestId: string;
  readonly payee: string;
  /**
   * `Cafe Central, Wien`; the person's name as their processor shows it (`Ben O.`); the phone airtime is for
   * (`your phone`).
   */
  readonly merchant: string;
  /**
   * What paying it is called: a person (P2P) is sent money ("Send … to", "Sent"), airtime is bought ("Buy …
   * airtime for", "Bought"); anything else is paid ("Pay … to", "Paid").
   */
  readonly kind?: QuoteKind;
  readonly reference: string;
  readonly currency: string;
  /** Set when the merchant fixed the amount; otherwise the customer enters one within min/max. */
  readonly amount?: bigint;
  readonly minAmount?: bigint;
  readonly maxAmount?: bigint;
}

export type QuoteKind = 'send' | 'airtime';

/** A request for money in the customer's inbox, as the phone lists it. */
export interface OpenRequest {
  readonly id: string;
  /** Who asks, as their processor shows them (`Rhea R.`), folded for a handset. */
  readonly from: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly note?: string;
  /** The signed request token, resolved like any payment code. */
  readonly code: string;
}

export interface PayeeDeps {
  readonly payments: PaymentService;
  readonly p2p: P2pService;
  readonly bills?: BillService;
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

/** A quote as plain JSON values (amounts as decimal strings), to keep it with a USSD session. */
export function quoteToWire(q: Quote): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined) out[k] = typeof v === 'bigint' ? v.toString() : (v as string | boolean);
  }
  return out;
}

/** The quote `quoteToWire` wrote. */
export function quoteFromWire(o: Record<string, unknown>): Quote {
  const str = (k: string): string => {
    const v = o[k];
    return typeof v === 'string' ? v : '';
  };
  const big = (k: string) => (typeof o[k] === 'string' ? { [k]: BigInt(o[k]) } : {});
  return {
    requestId: str('requestId'),
    payee: str('payee'),
    merchant: str('merchant'),
    ...(o.kind === 'send' || o.kind === 'airtime' ? { kind: o.kind } : {}),
    reference: str('reference'),
    currency: str('currency'),
    ...big('amount'),
    ...big('minAmount'),
    ...big('maxAmount'),
  };
}

/** A request resolved for this customer, as the phone shows it. */
function quoteOf(
  r: {
    readonly requestId: string;
    readonly processorId: string;
    readonly reference: string;
    readonly currency: string;
    readonly amount?: MoneyWire;
    readonly minAmount?: MoneyWire;
    readonly maxAmount?: MoneyWire;
  },
  name: string,
  kind?: QuoteKind,
): Quote {
  const big = (m: MoneyWire | undefined) => (m === undefined ? undefined : BigInt(m.value));
  const amount = big(r.amount);
  const minAmount = big(r.minAmount);
  const maxAmount = big(r.maxAmount);
  return {
    requestId: r.requestId,
    payee: r.processorId,
    merchant: name,
    ...(kind ? { kind } : {}),
    reference: r.reference,
    currency: r.currency,
    ...(amount === undefined ? {} : { amount }),
    ...(minAmount === undefined ? {} : { minAmount }),
    ...(maxAmount === undefined ? {} : { maxAmount }),
  };
}

export function createPayees(deps: PayeeDeps) {
  const { payments, p2p } = deps;
  const money = (customer: Customer, amount: bigint): MoneyWire => ({
    value: amount.toString(),
    currency: customer.currency,
  });
  const bills = (): BillService => {
    if (!deps.bills) throw new SemopsError('BILLER_NOT_FOUND');
    return deps.bills;
  };

  return {
    /**
     * Resolves a code typed on the phone (short code, or anything the wallet accepts). No FX quote yet: that
     * is made when the amount is shown with the PIN prompt (`fxQuote`).
     */
    async quote(customer: Customer, code: string): Promise<Quote> {
      const r = await payments.resolve(customer, code, { quote: false });
      return quoteOf(r, showMerchant(r.merchant));
    },

    /**
     * Finds the person behind a phone number (E.164) or `name@processor` — at this processor or, through the
     * hub directory, at another — and resolves a request payable to them, in their currency, the payer
     * entering the amount. The name is what the payee's processor shows (`Ben O.`), folded for a handset.
     * ALIAS_NOT_FOUND when nobody there has an account; VALIDATION_FAILED for the customer themself.
     */
    async person(customer: Customer, to: string): Promise<Quote> {
      const r = await p2p.resolve(customer, to);
      return quoteOf(r, fold(r.merchant.name, 22, 'Person'), 'send');
    },

    /**
     * A bill: the biller's processor (by the code's routing prefix) makes a request payable to the biller for
     * `amount` with the customer's account number as reference. BILLER_NOT_FOUND, ACCOUNT_REFERENCE_INVALID,
     * AMOUNT_OUT_OF_RANGE otherwise.
     */
    async bill(customer: Customer, billerCode: string, account: string, amount: bigint): Promise<Quote> {
      const r = await bills().resolveBill(customer, billerCode, account, money(customer, amount));
      return quoteOf(r, showMerchant(r.merchant));
    },

    /**
     * Airtime for a phone (the customer's own or another), sold by the mobile operator serving it, found
     * through the hub directory as for P2P: AIRTIME_NOT_AVAILABLE when no operator serves it.
     */
    async airtime(customer: Customer, phone: string, amount: bigint): Promise<Quote> {
      const r = await bills().resolveAirtime(customer, phone, money(customer, amount));
      // The phone is the request's reference too: shown once, as what the airtime is for.
      return { ...quoteOf(r, phone === customer.phone ? 'your phone' : phone, 'airtime'), reference: '' };
    },

    /** The requests for money waiting in the customer's inbox (open, unpaid, unexpired), newest first. */
    async openRequests(customer: Customer, max: number): Promise<OpenRequest[]> {
      const items = await p2p.inbox(customer, 50);
      return items
        .filter((i) => i.status === 'OPEN')
        .slice(0, max)
        .map((i) => ({
          id: i.id,
          from: fold(i.from, 22, 'Someone'),
          amount: BigInt(i.amount.value),
          currency: i.amount.currency,
          ...(i.note ? { note: fold(i.note, 40, '') } : {}),
          code: i.code,
        }));
    },

    /** Resolves a request for money from the inbox to pay it: the requester is a person. */
    async openRequest(customer: Customer, item: OpenRequest): Promise<Quote> {
      const r = await payments.resolve(customer, item.code, { quote: false });
      return quoteOf(r, item.from, 'send');
    },

    /** Declines a request for money from the inbox; its requester's processor is told. */
    async decline(customer: Customer, item: OpenRequest): Promise<string> {
      await p2p.decline(customer, item.id);
      return `You declined the request of ${item.from} for ${formatAmount(item.amount, item.currency)} ${item.currency}.`;
    },
  };
}

export type Payees = ReturnType<typeof createPayees>;
