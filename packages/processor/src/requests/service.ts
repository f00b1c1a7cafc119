/**
 * Payment requests on the payee side: created by merchants, handed to payers as a signed token, QR payload,
 * deep link and short code; looked up by payer processors through the hub; and checked against every
 * incoming prepare (amount, currency, expiry, one-time use) before this processor fulfils it.
 */
import { EventEmitter } from 'node:events';
import type { Ledger } from '@semops/ledger';
import type { Sql } from '@semops/node';
import {
  REQUEST_TYP,
  RECEIPT_TYP,
  SemopsError,
  encodeEmvQr,
  encryptJson,
  isShortCode,
  makeDeepLink,
  makeShortCode,
  newId,
  receipt as receiptSchema,
  signJson,
  verifyJson,
  type FulfilResult,
  type Key,
  type MerchantInfo,
  type Receipt,
  type RequestRef,
  type RequestToken,
  type TransferPrepare,
} from '@semops/protocol';
import { merchantInfoOf, type Merchant, type MerchantService } from '../merchants/service.js';
import type { WebhookService } from '../webhooks/service.js';
import { maskName, type Customer, type CustomerService } from '../customers/service.js';
import { moneyText, type NotificationService } from '../notifications/service.js';
import type { HouseAccounts } from '../house-accounts.js';
import {
  book,
  checkPurposeAndFees,
  convertedRefundCommands,
  expectedPurpose,
  fixRefundConversion,
  parseOriginalFx,
  paymentInCommands,
  type RefundFx,
} from './payee-bookings.js';

export type RequestStatus = 'OPEN' | 'PAID' | 'EXPIRED' | 'CANCELLED';

interface RequestRow {
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

interface IncomingRow {
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

export interface CreateRequestInput {
  readonly currency: string;
  readonly amount?: bigint;
  readonly minAmount?: bigint;
  readonly maxAmount?: bigint;
  readonly reference: string;
  readonly description?: string;
  readonly expiresInSeconds: number;
  readonly reusable: boolean;
  /** A parking zone (optionally with a per-minute tariff) or an event ticket. */
  readonly kind?: 'parking' | 'ticket';
  readonly zone?: string;
  readonly event?: string;
  readonly tariff?: Tariff;
  readonly returnUrl?: string;
}

/** A parking tariff: the payer pays a whole number of minutes between minMinutes and maxMinutes. */
export interface Tariff {
  readonly perMinute: bigint;
  readonly minMinutes: number;
  readonly maxMinutes: number;
}

const MINUTE = 60_000;

export interface RequestDeps {
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly merchants: MerchantService;
  readonly customers: CustomerService;
  readonly notifications: NotificationService;
  readonly webhooks: WebhookService;
  readonly processorId: string;
  readonly routingPrefix: string;
  readonly country: string;
  readonly signingKey: Key;
  readonly encryptionKeyOf: (processorId: string) => Promise<Key>;
  /** The house accounts (settlement, fees, interchange, fx, fxmargin) the commit bookings use. */
  readonly house: HouseAccounts;
  readonly now: () => number;
  /** This processor's public signing key, to check tickets it signed (else they are compared as stored). */
  readonly verifyingKey?: Key;
}

const FINAL: ReadonlySet<RequestStatus> = new Set(['PAID', 'EXPIRED', 'CANCELLED']);

export function createRequestService(deps: RequestDeps) {
  const { q, now } = deps;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  async function row(id: string): Promise<RequestRow | undefined> {
    return q.one<RequestRow>`SELECT * FROM requests WHERE id = ${id}`;
  }
  const incomingById = (id: string) => q.one<IncomingRow>`SELECT * FROM incoming WHERE id = ${id}`;

  function statusOf(r: RequestRow): RequestStatus {
    if (r.status === 'OPEN' && r.expires_at <= now()) return 'EXPIRED';
    return r.status;
  }

  /** What a payer sees of the payee: the merchant, or a customer's masked name (P2P). */
  async function payeeOf(r: RequestRow): Promise<{ info: MerchantInfo; merchant?: Merchant }> {
    if (r.merchant_id !== null) {
      const merchant = await deps.merchants.get(r.merchant_id);
      return { info: merchantInfoOf(merchant), merchant };
    }
    const c = await deps.customers.get(r.customer_id ?? '');
    return { info: { id: 'p2p', name: maskName(c.name), city: '', category: P2P_CATEGORY } };
  }

  /** The purpose an incoming transfer for this request (or of this incoming row) must carry. */
  async function purposeExpected(r: { readonly merchant_id: string | null }) {
    return expectedPurpose(r, r.merchant_id === null ? undefined : await deps.merchants.get(r.merchant_id));
  }

  function tokenPayload(r: RequestRow, payee: MerchantInfo): RequestToken {
    const money = (v: string | null) => (v === null ? undefined : { value: v, currency: r.currency });
    const amount = money(r.amount);
    const minAmount = money(r.min_amount);
    const maxAmount = money(r.max_amount);
    return {
      requestId: r.id,
      processorId: deps.processorId,
      merchant: payee,
      currency: r.currency,
      ...(amount ? { amount } : {}),
      ...(minAmount ? { minAmount } : {}),
      ...(maxAmount ? { maxAmount } : {}),
      reference: r.reference,
      ...(r.description === null ? {} : { description: r.description }),
      reusable: r.reusable === 1,
      shortCode: r.short_code,
      issuedAt: now(),
      expiresAt: r.expires_at,
      ...useCaseFields(r),
    };
  }

  /** The optional use-case fields of a request, as its token and view show them. */
  function useCaseFields(r: RequestRow) {
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

  async function view(r: RequestRow) {
    const { info: m } = await payeeOf(r);
    const payload = tokenPayload(r, m);
    const payments = (
      await q.all<IncomingRow>`SELECT * FROM incoming WHERE request_id = ${r.id} ORDER BY created_at`
    ).map(incomingView);
    return {
      id: r.id,
      status: statusOf(r),
      currency: r.currency,
      ...(payload.amount ? { amount: payload.amount } : {}),
      ...(payload.minAmount ? { minAmount: payload.minAmount } : {}),
      ...(payload.maxAmount ? { maxAmount: payload.maxAmount } : {}),
      reference: r.reference,
      ...(r.description === null ? {} : { description: r.description }),
      reusable: r.reusable === 1,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      ...useCaseFields(r),
      token: await signJson(payload, deps.signingKey, deps.processorId, REQUEST_TYP),
      qr: encodeEmvQr({
        dynamic: r.reusable === 0,
        processorId: deps.processorId,
        requestId: r.id,
        currency: r.currency,
        ...(r.amount === null ? {} : { amount: BigInt(r.amount) }),
        merchantName: m.name,
        merchantCity: m.city,
        category: m.category,
        country: deps.country,
        reference: r.reference,
      }),
      deepLink: makeDeepLink(deps.processorId, r.id),
      shortCode: r.short_code,
      payments,
    };
  }

  function incomingView(i: IncomingRow) {
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
  function feeView(i: IncomingRow) {
    return {
      fee: { value: i.msc, currency: i.currency },
      net: { value: (BigInt(i.amount) - BigInt(i.msc)).toString(), currency: i.currency },
    };
  }

  async function publish(requestId: string): Promise<void> {
    if (events.listenerCount(requestId) === 0) return;
    const r = await row(requestId);
    if (r) events.emit(requestId, await view(r));
  }

  /** The receipt names the merchant: it travels sealed to the payer processor, past the hub. */
  async function seal(receipt: string, payer: string): Promise<string> {
    return encryptJson({ receipt }, await deps.encryptionKeyOf(payer));
  }

  async function findByRef(ref: RequestRef): Promise<RequestRow> {
    let r: RequestRow | undefined;
    if ('shortCode' in ref) {
      if (!isShortCode(ref.shortCode)) throw new SemopsError('CODE_INVALID', 'The payment code has a typo.');
      r = await q.one<RequestRow>`SELECT * FROM requests WHERE short_code = ${ref.shortCode}`;
    } else {
      if (ref.processorId !== deps.processorId) throw new SemopsError('REQUEST_NOT_FOUND');
      r = await row(ref.requestId);
    }
    if (!r) throw new SemopsError('REQUEST_NOT_FOUND');
    return r;
  }

  function assertPayable(r: RequestRow): void {
    switch (statusOf(r)) {
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

  function checkAmount(r: RequestRow, amount: bigint, currency: string): void {
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
  function entitlement(r: RequestRow, amount: bigint, acceptedAt: number): Partial<Receipt> {
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

  /** Stores a new request payable to a merchant or a customer. */
  async function insert(payee: { merchantId: string } | { customerId: string }, input: CreateRequestInput) {
    const id = newId('req');
    const t = now();
    const merchantId = 'merchantId' in payee ? payee.merchantId : null;
    const customerId = 'customerId' in payee ? payee.customerId : null;
    const r = await q.tx(async (tx) => {
      // The sequence row serialises request creation across instances of this processor.
      const next = await tx.one<{ seq: number }>`UPDATE short_code_seq SET next = next + 1 WHERE id = 1
        RETURNING next - 1 AS seq`;
      const code = makeShortCode(deps.routingPrefix, Number(next?.seq ?? 0) % 1_000_000);
      const amount = input.amount?.toString() ?? null;
      const min = input.amount === undefined ? (input.minAmount?.toString() ?? null) : null;
      const max = input.amount === undefined ? (input.maxAmount?.toString() ?? null) : null;
      const tariff = input.tariff;
      return tx.one<RequestRow>`INSERT INTO requests (id, merchant_id, customer_id, short_code, currency, amount,
          min_amount, max_amount, reference, description, reusable, status, created_at, expires_at, kind, zone,
          event, tariff_per_minute, tariff_min_minutes, tariff_max_minutes, return_url)
        VALUES (${id}, ${merchantId}, ${customerId}, ${code}, ${input.currency}, ${amount}, ${min}, ${max},
          ${input.reference}, ${input.description ?? null}, ${input.reusable ? 1 : 0}, 'OPEN', ${t},
          ${t + input.expiresInSeconds * 1000}, ${input.kind ?? null}, ${input.zone ?? null},
          ${input.event ?? null}, ${tariff?.perMinute.toString() ?? null}, ${tariff?.minMinutes ?? null},
          ${tariff?.maxMinutes ?? null}, ${input.returnUrl ?? null})
        RETURNING *`;
    });
    return r!;
  }

  const service = {
    events,
    async create(m: Merchant, input: CreateRequestInput) {
      if (input.currency !== m.currency) {
        throw new SemopsError('CURRENCY_MISMATCH', `This merchant account is in ${m.currency}.`);
      }
      if (input.amount === undefined && input.minAmount !== undefined && input.maxAmount !== undefined) {
        if (input.minAmount > input.maxAmount) {
          throw new SemopsError('VALIDATION_FAILED', 'minAmount must not exceed maxAmount.');
        }
      }
      const t = input.tariff;
      if (t !== undefined) {
        if (input.kind !== 'parking') {
          throw new SemopsError('VALIDATION_FAILED', 'A tariff is for parking requests (kind "parking").');
        }
        if (input.amount !== undefined || input.minAmount !== undefined || input.maxAmount !== undefined) {
          throw new SemopsError('VALIDATION_FAILED', 'Give either a tariff or amounts, not both.');
        }
        if (t.perMinute <= 0n || t.minMinutes < 1 || t.minMinutes > t.maxMinutes) {
          throw new SemopsError(
            'VALIDATION_FAILED',
            'The tariff needs perMinute > 0 and 1 ≤ minMinutes ≤ maxMinutes.',
          );
        }
        // The payable range follows from the tariff, so that wallets show it and accept() checks it.
        return view(
          await insert(
            { merchantId: m.id },
            {
              ...input,
              minAmount: t.perMinute * BigInt(t.minMinutes),
              maxAmount: t.perMinute * BigInt(t.maxMinutes),
            },
          ),
        );
      }
      return view(await insert({ merchantId: m.id }, input));
    },

    /**
     * A request payable to one of our customers (P2P send, request money): single-use; the payer sees the
     * customer's masked name only.
     */
    async createForCustomer(c: Customer, input: Omit<CreateRequestInput, 'currency' | 'reusable'>) {
      return view(await insert({ customerId: c.id }, { ...input, currency: c.currency, reusable: false }));
    },

    /** `inbox.declined`: the payer declined a request for money; it can no longer be paid. */
    async declineForPeer(requestId: string): Promise<void> {
      await q.run`UPDATE requests SET status = 'CANCELLED'
        WHERE id = ${requestId} AND customer_id IS NOT NULL AND status = 'OPEN' AND in_flight IS NULL`;
    },

    async get(m: Merchant, id: string) {
      const r = await row(id);
      if (!r || r.merchant_id !== m.id) throw new SemopsError('REQUEST_NOT_FOUND');
      return view(r);
    },

    async cancel(m: Merchant, id: string) {
      const r = await row(id);
      if (!r || r.merchant_id !== m.id) throw new SemopsError('REQUEST_NOT_FOUND');
      if (statusOf(r) === 'OPEN')
        await q.run`UPDATE requests SET status = 'CANCELLED' WHERE id = ${id} AND status = 'OPEN'`;
      await publish(id);
      return view((await row(id))!);
    },

    isFinal(status: RequestStatus): boolean {
      return FINAL.has(status);
    },

    /** Payments received by a merchant, newest first. */
    async listIncoming(m: Merchant, limit = 100) {
      const rows =
        await q.all<IncomingRow>`SELECT * FROM incoming WHERE merchant_id = ${m.id} AND state = 'COMMITTED'
        ORDER BY created_at DESC LIMIT ${limit}`;
      return rows.map(incomingView);
    },

    /** The signed token of a payable request (for this processor's own payers). */
    async tokenFor(ref: RequestRef): Promise<string> {
      const r = await findByRef(ref);
      assertPayable(r);
      return signJson(
        tokenPayload(r, (await payeeOf(r)).info),
        deps.signingKey,
        deps.processorId,
        REQUEST_TYP,
      );
    },

    /** `request.lookup` from another processor: the token, encrypted to the requester. */
    async lookupForPeer(ref: RequestRef, requester: string) {
      const token = await service.tokenFor(ref);
      return { sealed: await encryptJson({ token }, await deps.encryptionKeyOf(requester)) };
    },

    /**
     * Checks one prepare against its request and accepts it (FULFIL with a signed receipt) or rejects it.
     * Idempotent by transfer id. Accepting a single-use request holds it for this transfer until commit or abort.
     */
    async accept(p: TransferPrepare): Promise<FulfilResult> {
      if (p.refundOf !== undefined) return acceptRefund(p, p.refundOf);
      const reject = (e: SemopsError): FulfilResult => ({
        transferId: p.transferId,
        decision: 'REJECT',
        error: { code: e.code, message: e.message },
      });
      const existing = await incomingById(p.transferId);
      if (existing) {
        if (
          existing.refund_of !== null ||
          existing.request_id !== p.requestId ||
          existing.amount !== p.amount.value ||
          existing.payer !== p.payer
        ) {
          return reject(new SemopsError('TRANSFER_CONFLICT'));
        }
        const conflict = sameFees(existing, p, await purposeExpected(existing));
        if (conflict) return reject(conflict);
        if (existing.state === 'ABORTED') return reject(new SemopsError('TRANSFER_EXPIRED'));
        return {
          transferId: p.transferId,
          decision: 'FULFIL',
          receipt: await seal(existing.receipt, p.payer),
        };
      }
      try {
        if (p.payee !== deps.processorId) throw new SemopsError('PAYEE_MISMATCH');
        if (p.expiresAt <= now()) throw new SemopsError('TRANSFER_EXPIRED');
        const r = await row(p.requestId);
        if (!r) throw new SemopsError('REQUEST_NOT_FOUND');
        const fees = checkPurposeAndFees(p, await purposeExpected(r), `Request ${r.id}`);
        assertPayable(r);
        checkAmount(r, BigInt(p.amount.value), p.amount.currency);
        const { info } = await payeeOf(r);
        const t = now();
        const receipt: Receipt = {
          receiptId: `rct_${p.transferId.slice(4)}`,
          paymentId: p.transferId,
          requestId: r.id,
          processorId: deps.processorId,
          merchant: info,
          amount: p.amount,
          reference: r.reference,
          acceptedAt: t,
          ...entitlement(r, BigInt(p.amount.value), t),
        };
        const jws = await signJson(receipt, deps.signingKey, deps.processorId, RECEIPT_TYP);
        await q.tx(async (tx) => {
          // A single-use request is held by one transfer at a time: the conditional update decides, also
          // between instances of this processor.
          if (r.reusable === 0) {
            const held = await tx.run`UPDATE requests SET in_flight = ${p.transferId}
              WHERE id = ${r.id} AND in_flight IS NULL AND status = 'OPEN'`;
            if (held !== 1) throw new SemopsError('REQUEST_ALREADY_PAID');
          }
          await tx.run`INSERT INTO incoming (id, request_id, merchant_id, customer_id, payer, amount, currency, state,
              receipt, expires_at, created_at, updated_at, msc, interchange)
            VALUES (${p.transferId}, ${r.id}, ${r.merchant_id}, ${r.customer_id}, ${p.payer}, ${p.amount.value},
              ${p.amount.currency}, 'ACCEPTED', ${jws}, ${p.expiresAt}, ${t}, ${t}, ${fees.msc.toString()},
              ${fees.interchange.toString()})`;
        });
        await publish(r.id);
        return { transferId: p.transferId, decision: 'FULFIL', receipt: await seal(jws, p.payer) };
      } catch (e) {
        if (e instanceof SemopsError) return reject(e);
        throw e;
      }
    },

    /**
     * The transfer is final at the hub: book it (merchant credited with the amount less the MSC, the MSC to fee
     * income, the interchange out through settlement; a refund of a converted payment back in the customer's
     * currency at the original rate), mark the request paid, notify. Idempotent, also after a crash.
     */
    async commit(transferId: string): Promise<boolean> {
      const i = await incomingById(transferId);
      if (!i || i.state !== 'ACCEPTED') return false;
      const m = i.merchant_id === null ? undefined : await deps.merchants.get(i.merchant_id);
      const c = i.customer_id === null ? undefined : await deps.customers.get(i.customer_id);
      const creditAccountId = m?.accountId ?? c?.accountId;
      if (!creditAccountId) throw new SemopsError('INTERNAL', `incoming ${transferId} has no payee`);
      // Worked out before the transaction: a converted refund's amounts are fixed (stored) first, and the house
      // accounts opened.
      const converted = i.refund_of === null || !c ? null : await convertedRefund(i, c);
      const fees = { msc: BigInt(i.msc), interchange: BigInt(i.interchange) };
      const bookings = converted
        ? await convertedRefundCommands(deps.house, i, converted, creditAccountId)
        : await paymentInCommands(deps.house, i, fees, creditAccountId);
      const t = now();
      const amount = { value: i.amount, currency: i.currency };
      const refundFrom = i.refund_of !== null && c ? await refundedMerchantName(i.refund_of) : undefined;
      // The state change, the bookings, the customer's notification and the merchant's webhook: one transaction
      // (the webhook an outbox).
      const changed = await q.tx(async (tx) => {
        const n = await tx.run`UPDATE incoming SET state = 'COMMITTED', updated_at = ${t}, committed_at = ${t}
          WHERE id = ${transferId} AND state = 'ACCEPTED'`;
        if (n !== 1) return n;
        if (tx.within === undefined) throw new Error('requests: bookings need an open transaction');
        await book(deps.ledger, bookings, `incoming ${transferId}`, tx.within);
        if (i.request_id !== null) {
          await tx.run`UPDATE requests SET status = 'PAID' WHERE id = ${i.request_id} AND reusable = 0 AND status = 'OPEN'`;
        }
        if (c && refundFrom !== undefined) {
          // A converted payment is refunded in the customer's own currency: tell them what they got.
          const credited = converted
            ? { value: converted.customerCredit, currency: converted.payerCurrency }
            : amount;
          const how = converted
            ? ` (${moneyText(amount)}${converted.rateShown ? ` at the rate you paid, ${converted.rateShown}` : ' at the rate you paid'})`
            : '';
          await deps.notifications.record(
            c.id,
            'refund.received',
            `Refund of ${moneyText(credited)} from ${refundFrom}${how}.`,
            credited,
            undefined,
            tx,
          );
        } else if (c) {
          await deps.notifications.record(
            c.id,
            'payment.received',
            `You received ${moneyText(amount)}.`,
            amount,
            undefined,
            tx,
          );
        }
        if (m && i.request_id !== null) {
          const r = await tx.one<{
            reference: string;
          }>`SELECT reference FROM requests WHERE id = ${i.request_id}`;
          await deps.webhooks.enqueue(
            m,
            'payment.completed',
            {
              paymentId: transferId,
              requestId: i.request_id,
              amount,
              ...feeView(i),
              reference: r?.reference ?? '',
              receipt: i.receipt,
            },
            tx,
          );
        }
        return n;
      });
      if (changed === 1 && i.request_id !== null) await publish(i.request_id);
      return changed === 1;
    },

    /** The transfer was aborted: release the request. Idempotent. */
    async abort(transferId: string): Promise<boolean> {
      const i = await incomingById(transferId);
      if (!i || i.state !== 'ACCEPTED') return false;
      await q.tx(async (tx) => {
        await tx.run`UPDATE incoming SET state = 'ABORTED', updated_at = ${now()}
          WHERE id = ${transferId} AND state = 'ACCEPTED'`;
        if (i.request_id !== null) {
          await tx.run`UPDATE requests SET in_flight = NULL WHERE id = ${i.request_id} AND in_flight = ${transferId}`;
        }
      });
      if (i.request_id !== null) await publish(i.request_id);
      return true;
    },

    /** Accepted transfers still waiting for their outcome (for reconciliation with the hub). */
    async openIncoming(olderThan: number): Promise<Array<{ id: string; expiresAt: number }>> {
      const rows = await q.all<{ id: string; expires_at: number }>`SELECT id, expires_at FROM incoming
        WHERE state = 'ACCEPTED' AND created_at < ${olderThan} LIMIT 500`;
      return rows.map((r) => ({ id: r.id, expiresAt: Number(r.expires_at) }));
    },

    async hasIncoming(transferId: string): Promise<boolean> {
      return (await incomingById(transferId)) !== undefined;
    },

    /**
     * A ticket at the gate: signed by this processor, for an event of this merchant, paid (committed), and
     * accepted once — a second presentation is TICKET_ALREADY_USED, also across instances of this processor.
     */
    async validateTicket(m: Merchant, ticket: string) {
      const invalid = (why: string) => new SemopsError('TICKET_INVALID', why);
      let payload: Receipt;
      try {
        // Without the public key the ticket is only trusted when it equals the stored receipt (below).
        const raw: unknown = deps.verifyingKey
          ? await verifyJson(ticket, deps.verifyingKey, RECEIPT_TYP)
          : JSON.parse(Buffer.from(ticket.split('.')[1] ?? '', 'base64url').toString('utf8'));
        const parsed = receiptSchema.safeParse(raw);
        if (!parsed.success) throw invalid('The ticket content is not a receipt.');
        payload = parsed.data;
      } catch (e) {
        if (e instanceof SemopsError && e.code === 'TICKET_INVALID') throw e;
        throw invalid('The ticket signature does not verify.');
      }
      if (payload.kind !== 'ticket' || payload.processorId !== deps.processorId) {
        throw invalid('This is not a ticket issued here.');
      }
      const i = await incomingById(payload.paymentId);
      // The stored receipt is the one this processor signed: byte equality also rules out any forgery.
      if (!i || i.receipt !== ticket || i.merchant_id !== m.id) {
        throw invalid('This ticket was not sold by this merchant.');
      }
      if (i.state !== 'COMMITTED') throw invalid('This ticket was never paid.');
      const t = now();
      const n = await q.run`INSERT INTO used_tickets (ticket_id, merchant_id, payment_id, used_at)
        VALUES (${payload.receiptId}, ${m.id}, ${payload.paymentId}, ${t})
        ON CONFLICT (ticket_id) DO NOTHING`;
      if (n !== 1) {
        const used = await q.one<{ used_at: number }>`SELECT used_at FROM used_tickets
          WHERE ticket_id = ${payload.receiptId}`;
        throw new SemopsError('TICKET_ALREADY_USED', undefined, { usedAt: Number(used?.used_at ?? 0) });
      }
      return {
        valid: true,
        ticketId: payload.receiptId,
        paymentId: payload.paymentId,
        requestId: payload.requestId,
        ...(payload.event === undefined ? {} : { event: payload.event }),
        amount: payload.amount,
        usedAt: t,
      };
    },
  };
  /** The display name of the merchant a customer paid, for the refund notification. */
  async function refundedMerchantName(paymentId: string): Promise<string> {
    const p = await q.one<{ merchant: string }>`SELECT merchant FROM payments WHERE id = ${paymentId}`;
    try {
      return (JSON.parse(p?.merchant ?? '{}') as { name?: string }).name ?? 'a merchant';
    } catch {
      return 'a merchant';
    }
  }

  /**
   * A re-sent prepare must carry the purpose and fees the first one had: the fees are fixed at prepare time.
   * Returns the conflict to reject with, if any.
   */
  function sameFees(
    existing: IncomingRow,
    p: TransferPrepare,
    expected: 'purchase' | 'p2p',
  ): SemopsError | null {
    let fees;
    try {
      fees = checkPurposeAndFees(p, expected, `Transfer ${p.transferId}`);
    } catch (e) {
      if (e instanceof SemopsError) return e;
      throw e;
    }
    if (fees.msc.toString() !== existing.msc || fees.interchange.toString() !== existing.interchange) {
      return new SemopsError(
        'TRANSFER_CONFLICT',
        `Transfer ${p.transferId} was prepared with fees msc ${existing.msc}, interchange ${existing.interchange}; ` +
          `it was sent again with msc ${fees.msc}, interchange ${fees.interchange}.`,
      );
    }
    return null;
  }

  /**
   * A refund of one of our customers' payments that was converted from their currency: fixes (once) and
   * returns how it is booked back at the original rate. Null for a same-currency payment.
   */
  async function convertedRefund(i: IncomingRow, c: Customer): Promise<RefundFx | null> {
    if (i.refund_of === null) return null;
    const orig = await q.one<{ amount: string; currency: string; fx?: string | null }>`SELECT * FROM payments
      WHERE id = ${i.refund_of}`;
    if (!orig) throw new SemopsError('INTERNAL', `the refunded payment ${i.refund_of} is gone`);
    const fx = parseOriginalFx(orig.fx, c.currency);
    if (!fx) return null;
    if (fx.payerCurrency !== c.currency) {
      throw new SemopsError(
        'INTERNAL',
        `payment ${i.refund_of} was converted from ${fx.payerCurrency}, but the customer's account is in ${c.currency}`,
      );
    }
    return fixRefundConversion(q, { ...i, refund_of: i.refund_of }, orig, fx);
  }

  /**
   * A refund of one of our customers' payments, coming back from the processor that was paid. Accepted only
   * for a COMMITTED outgoing payment to that processor, in its currency, with enough left unrefunded; the
   * receipt (signed by us) names the merchant, never the customer.
   */
  async function acceptRefund(p: TransferPrepare, refundOf: string): Promise<FulfilResult> {
    const reject = (e: SemopsError): FulfilResult => ({
      transferId: p.transferId,
      decision: 'REJECT',
      error: { code: e.code, message: e.message },
    });
    const existing = await incomingById(p.transferId);
    if (existing) {
      if (
        existing.refund_of !== refundOf ||
        existing.amount !== p.amount.value ||
        existing.payer !== p.payer
      ) {
        return reject(new SemopsError('TRANSFER_CONFLICT'));
      }
      const conflict = sameFees(existing, p, 'p2p');
      if (conflict) return reject(conflict);
      if (existing.state === 'ABORTED') return reject(new SemopsError('TRANSFER_EXPIRED'));
      return { transferId: p.transferId, decision: 'FULFIL', receipt: await seal(existing.receipt, p.payer) };
    }
    try {
      if (p.payee !== deps.processorId) throw new SemopsError('PAYEE_MISMATCH');
      if (p.expiresAt <= now()) throw new SemopsError('TRANSFER_EXPIRED');
      checkPurposeAndFees(p, 'p2p', `A refund (of ${refundOf})`);
      const orig = await q.one<{
        customer_id: string | null;
        payee: string;
        amount: string;
        currency: string;
        state: string;
        refund_of: string | null;
        merchant: string;
        reference: string;
      }>`SELECT customer_id, payee, amount, currency, state, refund_of, merchant, reference FROM payments
        WHERE id = ${refundOf}`;
      if (
        !orig ||
        orig.state !== 'COMMITTED' ||
        orig.refund_of !== null ||
        orig.customer_id === null ||
        orig.payee !== p.payer
      ) {
        throw new SemopsError('PAYMENT_NOT_FOUND', 'No completed payment to that processor has this id.');
      }
      if (orig.currency !== p.amount.currency) throw new SemopsError('CURRENCY_MISMATCH');
      const t = now();
      const receipt: Receipt = {
        receiptId: `rct_${p.transferId.slice(4)}`,
        paymentId: p.transferId,
        requestId: p.requestId,
        processorId: deps.processorId,
        merchant: JSON.parse(orig.merchant) as MerchantInfo,
        amount: p.amount,
        reference: `refund of ${refundOf}`,
        acceptedAt: t,
      };
      const jws = await signJson(receipt, deps.signingKey, deps.processorId, RECEIPT_TYP);
      await q.tx(async (tx) => {
        // Lock the original payment's row so that concurrent refunds of it are checked one after another.
        await tx.run`UPDATE payments SET updated_at = updated_at WHERE id = ${refundOf}`;
        const earlier = await tx.all<{ amount: string }>`SELECT amount FROM incoming
          WHERE refund_of = ${refundOf} AND state <> 'ABORTED'`;
        const refunded = earlier.reduce((sum, e) => sum + BigInt(e.amount), 0n);
        if (refunded + BigInt(p.amount.value) > BigInt(orig.amount)) {
          throw new SemopsError('REFUND_EXCEEDS_PAYMENT');
        }
        await tx.run`INSERT INTO incoming (id, request_id, merchant_id, customer_id, refund_of, payer, amount, currency,
            state, receipt, expires_at, created_at, updated_at)
          VALUES (${p.transferId}, NULL, NULL, ${orig.customer_id}, ${refundOf}, ${p.payer}, ${p.amount.value},
            ${p.amount.currency}, 'ACCEPTED', ${jws}, ${p.expiresAt}, ${t}, ${t})`;
      });
      return { transferId: p.transferId, decision: 'FULFIL', receipt: await seal(jws, p.payer) };
    } catch (e) {
      if (e instanceof SemopsError) return reject(e);
      throw e;
    }
  }

  return service;
}

/** Merchant category code of money transfers between persons, as shown for a P2P payee. */
export const P2P_CATEGORY = '4829';

export type RequestService = ReturnType<typeof createRequestService>;
