/**
 * Payment requests on the payee side: created by merchants, handed to payers as a signed token, QR payload,
 * deep link and short code; looked up by payer processors through the hub; and checked against every
 * incoming prepare (amount, currency, expiry, one-time use) before this processor fulfils it (`incoming.ts`;
 * the rows and what follows from them alone in `rows.ts`).
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
  peekJws,
  receipt as receiptSchema,
  signAs,
  verifyJson,
  type Key,
  type Signer,
  type MerchantInfo,
  type Receipt,
  type RequestRef,
  type RequestToken,
} from '@semops/protocol';
import { merchantInfoOf, type Merchant, type MerchantService } from '../merchants/service.js';
import type { WebhookService } from '../webhooks/service.js';
import { payeeName, type Customer, type CustomerService, type PayeeNameRule } from '../customers/service.js';
import type { NotificationService } from '../notifications/service.js';
import type { HouseAccounts } from '../house-accounts.js';
import { expectedPurpose } from './payee-bookings.js';
import { createIncomingTransfers } from './incoming.js';
import {
  assertPayable,
  incomingView,
  statusOf,
  useCaseFields,
  type IncomingRow,
  type RequestRow,
  type RequestStatus,
} from './rows.js';

export type { RequestStatus } from './rows.js';

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
  /** Signs tokens and receipts with the current key. */
  readonly signer: Signer;
  readonly encryptionKeyOf: (processorId: string) => Promise<Key>;
  /** The house accounts (settlement, fees, interchange, fx, fxmargin) the commit bookings use. */
  readonly house: HouseAccounts;
  readonly now: () => number;
  /** This processor's public signing keys by key id, to check tickets it signed (else compared as stored). */
  readonly ownKey?: (kid: string) => Key | undefined;
  /** How much of a customer's name a person paying them or asked by them sees (default `first-name`). */
  readonly payeeNames?: PayeeNameRule;
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

  /** What a payer sees of the payee: the merchant, or as much of a customer's name as `payeeNames` allows (P2P). */
  async function payeeOf(r: RequestRow): Promise<{ info: MerchantInfo; merchant?: Merchant }> {
    if (r.merchant_id !== null) {
      const merchant = await deps.merchants.get(r.merchant_id);
      return { info: merchantInfoOf(merchant), merchant };
    }
    const c = await deps.customers.get(r.customer_id ?? '');
    return {
      info: { id: 'p2p', name: payeeName(c.name, deps.payeeNames), city: '', category: P2P_CATEGORY },
    };
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

  async function view(r: RequestRow) {
    const { info: m } = await payeeOf(r);
    const payload = tokenPayload(r, m);
    const payments = (
      await q.all<IncomingRow>`SELECT * FROM incoming WHERE request_id = ${r.id} ORDER BY created_at`
    ).map(incomingView);
    return {
      id: r.id,
      status: statusOf(r, now()),
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
      token: await signAs(deps.signer, payload, REQUEST_TYP),
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

  const incoming = createIncomingTransfers(deps, {
    row,
    incomingById,
    payeeOf,
    purposeExpected,
    publish,
    seal,
  });

  const service = {
    events,
    ...incoming,
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
     * A request payable to one of our customers (P2P send, request money): single-use; the payer sees only
     * as much of the customer's name as `payeeNames` allows (`Ben O.`).
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
      if (statusOf(r, now()) === 'OPEN')
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
      assertPayable(r, now());
      return signAs(deps.signer, tokenPayload(r, (await payeeOf(r)).info), REQUEST_TYP);
    },

    /** `request.lookup` from another processor: the token, encrypted to the requester. */
    async lookupForPeer(ref: RequestRef, requester: string) {
      const token = await service.tokenFor(ref);
      return { sealed: await encryptJson({ token }, await deps.encryptionKeyOf(requester)) };
    },

    /**
     * A ticket at the gate: signed by this processor, for an event of this merchant, paid (committed), and
     * accepted once — a second presentation is TICKET_ALREADY_USED, also across instances of this processor.
     */
    async validateTicket(m: Merchant, ticket: string) {
      const invalid = (why: string) => new SemopsError('TICKET_INVALID', why);
      let payload: Receipt;
      try {
        // Without the public keys the ticket is only trusted when it equals the stored receipt (below).
        const key = deps.ownKey?.(peekJws(ticket).kid);
        if (deps.ownKey && !key) throw invalid('The ticket is not signed by a key of this processor.');
        const raw: unknown = key
          ? await verifyJson(ticket, key, RECEIPT_TYP)
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
  return service;
}

/** Merchant category code of money transfers between persons, as shown for a P2P payee. */
export const P2P_CATEGORY = '4829';

export type RequestService = ReturnType<typeof createRequestService>;
