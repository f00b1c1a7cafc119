/**
 * Payment requests on the payee side: created by merchants, handed to payers as a signed token, QR payload,
 * deep link and short code; looked up by payer processors through the hub; and checked against every
 * incoming prepare (amount, currency, expiry, one-time use) before this processor fulfils it.
 */
import { EventEmitter } from 'node:events';
import type { Ledger } from '@semops/ledger';
import type { Db } from '@semops/node';
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
  signJson,
  type FulfilResult,
  type Key,
  type Receipt,
  type RequestRef,
  type RequestToken,
  type TransferPrepare,
} from '@semops/protocol';
import { merchantInfoOf, type Merchant, type MerchantService } from '../merchants/service.js';
import type { WebhookService } from '../webhooks/service.js';

export type RequestStatus = 'OPEN' | 'PAID' | 'EXPIRED' | 'CANCELLED';

interface RequestRow {
  id: string;
  merchant_id: string;
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
}

interface IncomingRow {
  id: string;
  request_id: string;
  merchant_id: string;
  payer: string;
  amount: string;
  currency: string;
  state: 'ACCEPTED' | 'COMMITTED' | 'ABORTED';
  receipt: string;
  expires_at: number;
  created_at: number;
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
}

export interface RequestDeps {
  readonly db: Db;
  readonly ledger: Ledger;
  readonly merchants: MerchantService;
  readonly webhooks: WebhookService;
  readonly processorId: string;
  readonly routingPrefix: string;
  readonly country: string;
  readonly signingKey: Key;
  readonly encryptionKeyOf: (processorId: string) => Promise<Key>;
  readonly settlementAccount: (currency: string) => Promise<string>;
  readonly now: () => number;
}

const FINAL: ReadonlySet<RequestStatus> = new Set(['PAID', 'EXPIRED', 'CANCELLED']);

export function createRequestService(deps: RequestDeps) {
  const { db, now } = deps;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const insert = db.prepare(
    `INSERT INTO requests (id, merchant_id, short_code, currency, amount, min_amount, max_amount, reference,
       description, reusable, status, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'OPEN', ?, ?)`,
  );
  const nextSeq = db.prepare(
    'UPDATE short_code_seq SET next = next + 1 WHERE id = 1 RETURNING next - 1 AS seq',
  );
  const byId = db.prepare('SELECT * FROM requests WHERE id = ?');
  const byCode = db.prepare('SELECT * FROM requests WHERE short_code = ?');
  const cancelStmt = db.prepare("UPDATE requests SET status = 'CANCELLED' WHERE id = ? AND status = 'OPEN'");
  const setInFlight = db.prepare('UPDATE requests SET in_flight = ? WHERE id = ? AND in_flight IS NULL');
  const releaseInFlight = db.prepare('UPDATE requests SET in_flight = NULL WHERE id = ? AND in_flight = ?');
  const markPaid = db.prepare(
    "UPDATE requests SET status = 'PAID' WHERE id = ? AND reusable = 0 AND status = 'OPEN'",
  );
  const incomingById = db.prepare('SELECT * FROM incoming WHERE id = ?');
  const incomingByRequest = db.prepare('SELECT * FROM incoming WHERE request_id = ? ORDER BY created_at');
  const incomingByMerchant = db.prepare(
    'SELECT * FROM incoming WHERE merchant_id = ? AND state = ? ORDER BY created_at DESC LIMIT ?',
  );
  const insertIncoming = db.prepare(
    `INSERT INTO incoming (id, request_id, merchant_id, payer, amount, currency, state, receipt, expires_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'ACCEPTED', ?, ?, ?, ?)`,
  );
  const setIncoming = db.prepare(
    "UPDATE incoming SET state = ?, updated_at = ? WHERE id = ? AND state = 'ACCEPTED'",
  );
  const openIncoming = db.prepare(
    "SELECT id, expires_at FROM incoming WHERE state = 'ACCEPTED' AND created_at < ? LIMIT 500",
  );

  function row(id: string): RequestRow | undefined {
    return byId.get(id) as RequestRow | undefined;
  }

  function statusOf(r: RequestRow): RequestStatus {
    if (r.status === 'OPEN' && r.expires_at <= now()) return 'EXPIRED';
    return r.status;
  }

  function tokenPayload(r: RequestRow, m: Merchant): RequestToken {
    const money = (v: string | null) => (v === null ? undefined : { value: v, currency: r.currency });
    const amount = money(r.amount);
    const minAmount = money(r.min_amount);
    const maxAmount = money(r.max_amount);
    return {
      requestId: r.id,
      processorId: deps.processorId,
      merchant: merchantInfoOf(m),
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
    };
  }

  async function view(r: RequestRow) {
    const m = deps.merchants.get(r.merchant_id);
    const payload = tokenPayload(r, m);
    const payments = (incomingByRequest.all(r.id) as IncomingRow[]).map(incomingView);
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
      amount: { value: i.amount, currency: i.currency },
      status: i.state === 'COMMITTED' ? 'COMPLETED' : i.state === 'ABORTED' ? 'FAILED' : 'PENDING',
      receipt: i.receipt,
      createdAt: i.created_at,
    };
  }

  async function publish(requestId: string): Promise<void> {
    if (events.listenerCount(requestId) === 0) return;
    const r = row(requestId);
    if (r) events.emit(requestId, await view(r));
  }

  /** The receipt names the merchant: it travels sealed to the payer processor, past the hub. */
  async function seal(receipt: string, payer: string): Promise<string> {
    return encryptJson({ receipt }, await deps.encryptionKeyOf(payer));
  }

  function findByRef(ref: RequestRef): RequestRow {
    let r: RequestRow | undefined;
    if ('shortCode' in ref) {
      if (!isShortCode(ref.shortCode)) throw new SemopsError('CODE_INVALID', 'The payment code has a typo.');
      r = byCode.get(ref.shortCode) as RequestRow | undefined;
    } else {
      if (ref.processorId !== deps.processorId) throw new SemopsError('REQUEST_NOT_FOUND');
      r = row(ref.requestId);
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
  }

  return {
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
      const id = newId('req');
      const t = now();
      const r = db.transaction(() => {
        const { seq } = nextSeq.get() as { seq: number };
        const code = makeShortCode(deps.routingPrefix, seq % 1_000_000);
        insert.run(
          id,
          m.id,
          code,
          input.currency,
          input.amount?.toString() ?? null,
          input.amount === undefined ? (input.minAmount?.toString() ?? null) : null,
          input.amount === undefined ? (input.maxAmount?.toString() ?? null) : null,
          input.reference,
          input.description ?? null,
          input.reusable ? 1 : 0,
          t,
          t + input.expiresInSeconds * 1000,
        );
        return row(id)!;
      })();
      return view(r);
    },

    async get(m: Merchant, id: string) {
      const r = row(id);
      if (!r || r.merchant_id !== m.id) throw new SemopsError('REQUEST_NOT_FOUND');
      return view(r);
    },

    async cancel(m: Merchant, id: string) {
      const r = row(id);
      if (!r || r.merchant_id !== m.id) throw new SemopsError('REQUEST_NOT_FOUND');
      if (statusOf(r) === 'OPEN') cancelStmt.run(id);
      await publish(id);
      return view(row(id)!);
    },

    isFinal(status: RequestStatus): boolean {
      return FINAL.has(status);
    },

    /** Payments received by a merchant, newest first. */
    listIncoming(m: Merchant, limit = 100) {
      return (incomingByMerchant.all(m.id, 'COMMITTED', limit) as IncomingRow[]).map(incomingView);
    },

    /** The signed token of a payable request (for this processor's own payers). */
    async tokenFor(ref: RequestRef): Promise<string> {
      const r = findByRef(ref);
      assertPayable(r);
      return signJson(
        tokenPayload(r, deps.merchants.get(r.merchant_id)),
        deps.signingKey,
        deps.processorId,
        REQUEST_TYP,
      );
    },

    /** `request.lookup` from another processor: the token, encrypted to the requester. */
    async lookupForPeer(ref: RequestRef, requester: string) {
      const token = await this.tokenFor(ref);
      return { sealed: await encryptJson({ token }, await deps.encryptionKeyOf(requester)) };
    },

    /**
     * Checks one prepare against its request and accepts it (FULFIL with a signed receipt) or rejects it.
     * Idempotent by transfer id. Accepting a single-use request holds it for this transfer until commit or abort.
     */
    async accept(p: TransferPrepare): Promise<FulfilResult> {
      const reject = (e: SemopsError): FulfilResult => ({
        transferId: p.transferId,
        decision: 'REJECT',
        error: { code: e.code, message: e.message },
      });
      const existing = incomingById.get(p.transferId) as IncomingRow | undefined;
      if (existing) {
        if (
          existing.request_id !== p.requestId ||
          existing.amount !== p.amount.value ||
          existing.payer !== p.payer
        ) {
          return reject(new SemopsError('TRANSFER_CONFLICT'));
        }
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
        const r = row(p.requestId);
        if (!r) throw new SemopsError('REQUEST_NOT_FOUND');
        assertPayable(r);
        checkAmount(r, BigInt(p.amount.value), p.amount.currency);
        const m = deps.merchants.get(r.merchant_id);
        const t = now();
        const receipt: Receipt = {
          receiptId: `rct_${p.transferId.slice(4)}`,
          paymentId: p.transferId,
          requestId: r.id,
          processorId: deps.processorId,
          merchant: merchantInfoOf(m),
          amount: p.amount,
          reference: r.reference,
          acceptedAt: t,
        };
        const jws = await signJson(receipt, deps.signingKey, deps.processorId, RECEIPT_TYP);
        db.transaction(() => {
          const fresh = row(r.id)!;
          assertPayable(fresh);
          if (fresh.reusable === 0 && setInFlight.run(p.transferId, r.id).changes !== 1) {
            throw new SemopsError('REQUEST_ALREADY_PAID');
          }
          insertIncoming.run(
            p.transferId,
            r.id,
            m.id,
            p.payer,
            p.amount.value,
            p.amount.currency,
            jws,
            p.expiresAt,
            t,
            t,
          );
        })();
        await publish(r.id);
        return { transferId: p.transferId, decision: 'FULFIL', receipt: await seal(jws, p.payer) };
      } catch (e) {
        if (e instanceof SemopsError) return reject(e);
        throw e;
      }
    },

    /** The transfer is final at the hub: credit the merchant, mark the request paid, notify. Idempotent. */
    async commit(transferId: string): Promise<boolean> {
      const i = incomingById.get(transferId) as IncomingRow | undefined;
      if (!i || i.state !== 'ACCEPTED') return false;
      const m = deps.merchants.get(i.merchant_id);
      // The ledger transfer is idempotent by id, so a crash between it and the state change is repaired by
      // running commit again.
      await deps.ledger.transfer({
        id: `in:${transferId}`,
        debitAccountId: await deps.settlementAccount(i.currency),
        creditAccountId: m.accountId,
        amount: BigInt(i.amount),
        currency: i.currency,
        code: 'payment',
        reference: transferId,
      });
      const changed = db.transaction(() => {
        const n = setIncoming.run('COMMITTED', now(), transferId).changes;
        if (n === 1) markPaid.run(i.request_id);
        return n;
      })();
      if (changed === 1) {
        const r = row(i.request_id)!;
        deps.webhooks.enqueue(m, 'payment.completed', {
          paymentId: transferId,
          requestId: i.request_id,
          amount: { value: i.amount, currency: i.currency },
          reference: r.reference,
          receipt: i.receipt,
        });
        await publish(i.request_id);
      }
      return changed === 1;
    },

    /** The transfer was aborted: release the request. Idempotent. */
    async abort(transferId: string): Promise<boolean> {
      const i = incomingById.get(transferId) as IncomingRow | undefined;
      if (!i || i.state !== 'ACCEPTED') return false;
      db.transaction(() => {
        setIncoming.run('ABORTED', now(), transferId);
        releaseInFlight.run(i.request_id, transferId);
      })();
      await publish(i.request_id);
      return true;
    },

    /** Accepted transfers still waiting for their outcome (for reconciliation with the hub). */
    openIncoming(olderThan: number): Array<{ id: string; expiresAt: number }> {
      return (openIncoming.all(olderThan) as Array<{ id: string; expires_at: number }>).map((r) => ({
        id: r.id,
        expiresAt: r.expires_at,
      }));
    },

    hasIncoming(transferId: string): boolean {
      return incomingById.get(transferId) !== undefined;
    },
  };
}

export type RequestService = ReturnType<typeof createRequestService>;
