/**
 * The rows of the payee side — requests and the transfers received for them (`incoming`) — and what follows
 * from a row alone: its status at a moment, whether it can be paid, the amounts it accepts, what a receipt
 * entitles to, and the views the merchant's API shows.
 */
import { SemopsError, type Receipt } from '@semops/protocol';

export type RequestStatus = 'OPEN' | 'PAID' | 'EXPIRED' | 'CANCELLED';

export interface RequestRow {
  id: string;
  /** The payee: a merchant, or (P2P) a customer. */
  merchant_id: string | null;
  customer_id: string | null;
  short_code: string;
  currency: string;
  amount: string | null;
  min_amount: string | null;
  max_amount: string | null;
  reference: string;
  description: string | null;
  reusable: number;
  status: 'OPEN' | 'PAID' | 'CANCELLED';
  in_flight: string | null;
  created_at: number;
  expires_at: number;
  kind: 'parking' | 'ticket' | null;
  zone: string | null;
  event: string | null;
  tariff_per_minute: string | null;
  tariff_min_minutes: number | null;
  tariff_max_minutes: number | null;
  return_url: string | null;
}

export interface IncomingRow {
  id: string;
  /** Null for a refund, which pays back one of our customers' payments (`refund_of`). */
  request_id: string | null;
  merchant_id: string | null;
  customer_id: string | null;
  refund_of: string | null;
  payer: string;
  amount: string;
  currency: string;
  state: 'ACCEPTED' | 'COMMITTED' | 'ABORTED';
  receipt: string;
  expires_at: number;
  created_at: number;
  updated_at: number;
  /** The hub's merchant service charge (purchases), kept out of the merchant's credit; '0' otherwise. */
  msc: string;
  /** The interchange paid out of the MSC to the payer processor; '0' otherwise. */
  interchange: string;
  committed_at: number | null;
  /** A refund of a converted payment: how it was booked back in the customer's currency (RefundFx JSON). */
  refund_fx: string | null;
}

const MINUTE = 60_000;

/** A request's status at `at`: an open request past its expiry is EXPIRED. */
export function statusOf(r: RequestRow, at: number): RequestStatus {
  if (r.status === 'OPEN' && r.expires_at <= at) return 'EXPIRED';
  return r.status;
}

/** The optional use-case fields of a request, as its token and view show them. */
export function useCaseFields(r: RequestRow) {
  return {
    ...(r.kind === null ? {} : { kind: r.kind }),
    ...(r.zone === null ? {} : { zone: r.zone }),
    ...(r.event === null ? {} : { event: r.event }),
    ...(r.tariff_per_minute === null
      ? {}
      : {
          tariff: {
            perMinute: r.tariff_per_minute,
            minMinutes: Number(r.tariff_min_minutes),
            maxMinutes: Number(r.tariff_max_minutes),
          },
        }),
    ...(r.return_url === null ? {} : { returnUrl: r.return_url }),
  };
}

/** A payment received, as the merchant's API shows it. */
export function incomingView(i: IncomingRow) {
  return {
    paymentId: i.id,
    requestId: i.request_id,
    ...(i.refund_of === null ? {} : { refundOf: i.refund_of }),
    amount: { value: i.amount, currency: i.currency },
    ...(i.merchant_id === null ? {} : feeView(i)),
    status: i.state === 'COMMITTED' ? 'COMPLETED' : i.state === 'ABORTED' ? 'FAILED' : 'PENDING',
    receipt: i.receipt,
    createdAt: i.created_at,
  };
}

/** A merchant's payment: the gross amount above, the fee (MSC) taken, and the net credited. */
export function feeView(i: IncomingRow) {
  return {
    fee: { value: i.msc, currency: i.currency },
    net: { value: (BigInt(i.amount) - BigInt(i.msc)).toString(), currency: i.currency },
  };
}

/** Refuses a request that cannot be paid now (`at`): paid, held by a transfer in flight, expired or cancelled. */
export function assertPayable(r: RequestRow, at: number): void {
  switch (statusOf(r, at)) {
    case 'OPEN':
      if (r.reusable === 0 && r.in_flight !== null) throw new SemopsError('REQUEST_ALREADY_PAID');
      return;
    case 'PAID':
      throw new SemopsError('REQUEST_ALREADY_PAID');
    case 'EXPIRED':
      throw new SemopsError('REQUEST_EXPIRED');
    case 'CANCELLED':
      throw new SemopsError('REQUEST_CANCELLED');
  }
}

/** Refuses an amount the request does not accept. */
export function checkAmount(r: RequestRow, amount: bigint, currency: string): void {
  if (currency !== r.currency) throw new SemopsError('CURRENCY_MISMATCH');
  if (r.amount !== null) {
    if (amount !== BigInt(r.amount)) throw new SemopsError('AMOUNT_MISMATCH');
    return;
  }
  if (
    (r.min_amount !== null && amount < BigInt(r.min_amount)) ||
    (r.max_amount !== null && amount > BigInt(r.max_amount))
  ) {
    throw new SemopsError('AMOUNT_OUT_OF_RANGE');
  }
  if (r.tariff_per_minute !== null && amount % BigInt(r.tariff_per_minute) !== 0n) {
    throw new SemopsError(
      'AMOUNT_OUT_OF_RANGE',
      `Parking is paid by the minute (${r.tariff_per_minute} minor units a minute): pay a whole number of minutes.`,
    );
  }
}

/** What a receipt entitles to: a parking permit for the paid minutes, or an event ticket. */
export function entitlement(r: RequestRow, amount: bigint, acceptedAt: number): Partial<Receipt> {
  if (r.kind === 'ticket') return { kind: 'ticket', ...(r.event === null ? {} : { event: r.event }) };
  if (r.kind !== 'parking') return {};
  const minutes = r.tariff_per_minute === null ? undefined : Number(amount / BigInt(r.tariff_per_minute));
  return {
    kind: 'parking',
    ...(r.zone === null ? {} : { zone: r.zone }),
    ...(minutes === undefined
      ? {}
      : { minutes, validFrom: acceptedAt, validUntil: acceptedAt + minutes * MINUTE }),
  };
}
