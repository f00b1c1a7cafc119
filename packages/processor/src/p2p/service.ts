/**
 * Person to person: send money to a phone number or `name@processor` address, and request money. The payer
 * processor blinds the phone number, finds the payee's processor in the hub directory and asks it, through
 * the hub (`party.lookup`), for a short-lived request payable to its customer; from there it is an ordinary
 * payment. A request for money is a request payable to the requester, delivered (`inbox.deliver`) to the
 * inbox of the payer at their own processor. Only blinded aliases, short names (`Ben O.`) and sealed tokens travel.
 */
import type { Sql, Log } from '@semops/node';
import {
  SemopsError,
  encryptJson,
  newId,
  phoneNumber,
  type Key,
  type MoneyWire,
  type RequestToken,
} from '@semops/protocol';
import type { Customer, CustomerService } from '../customers/service.js';
import type { RequestService } from '../requests/service.js';
import type { PaymentService } from '../payments/service.js';
import type { HubLink } from '../hub/link.js';
import { moneyText, type NotificationService } from '../notifications/service.js';

/** `name@processor`: a customer's alias at their processor. */
export const ADDRESS_RE = /^([a-z0-9][a-z0-9._-]{1,31})@([a-z][a-z0-9-]{1,31})$/;

/** How long a P2P request made for a payer lives (single use, payer enters the amount). */
const P2P_REQUEST_TTL_S = 10 * 60;
/** How long a request for money waits in the payer's inbox. */
const MONEY_REQUEST_TTL_S = 7 * 24 * 3600;

interface InboxRow {
  id: string;
  customer_id: string;
  request_id: string;
  processor_id: string;
  from_name: string;
  amount: string;
  currency: string;
  note: string | null;
  token: string;
  status: 'OPEN' | 'DECLINED';
  expires_at: number | string;
  created_at: number | string;
}

export interface P2pDeps {
  readonly q: Sql;
  readonly customers: CustomerService;
  readonly requests: RequestService;
  readonly payments: PaymentService;
  readonly notifications: NotificationService;
  readonly hub: HubLink;
  readonly processorId: string;
  readonly encryptionKeyOf: (processorId: string) => Promise<Key>;
  readonly now: () => number;
  readonly log: Log;
}

export function createP2pService(deps: P2pDeps) {
  const { q, customers, requests, payments, now } = deps;
  const self = deps.processorId;

  /** The processor serving a phone number or address, and its blinded alias (the only thing that travels). */
  async function locate(to: string): Promise<{ processorId: string; alias: string }> {
    const address = ADDRESS_RE.exec(to);
    if (address) return { processorId: address[2]!, alias: customers.blind(to) };
    if (!phoneNumber.safeParse(to).success) {
      throw new SemopsError('VALIDATION_FAILED', 'Give a phone number (+43…) or a name@processor address.');
    }
    const alias = customers.blind(to);
    if (await customers.findByBlindedAlias(alias)) return { processorId: self, alias };
    const res = await deps.hub.send('directory.lookup', { alias });
    return { processorId: res.processorId, alias };
  }

  /** Our customer behind an alias, refusing the customer `notMe` (nobody sends to or asks themself). */
  async function localParty(alias: string, notMe?: Customer): Promise<Customer> {
    const c = await customers.findByBlindedAlias(alias);
    if (!c || c.status !== 'active') throw new SemopsError('ALIAS_NOT_FOUND');
    if (notMe && c.id === notMe.id) {
      throw new SemopsError('VALIDATION_FAILED', 'You cannot send money to yourself or ask yourself for it.');
    }
    return c;
  }

  function ownIdentifier(c: Customer, to: string): boolean {
    return to === c.phone;
  }

  /** A fresh single-use request payable to our customer, the payer entering the amount. */
  async function p2pRequestFor(payee: Customer): Promise<string> {
    const view = await requests.createForCustomer(payee, {
      reference: 'p2p',
      expiresInSeconds: P2P_REQUEST_TTL_S,
    });
    return view.token;
  }

  async function storeInboxItem(payer: Customer, t: RequestToken, token: string): Promise<void> {
    if (!t.amount) throw new SemopsError('AMOUNT_REQUIRED', 'A request for money names its amount.');
    const id = newId('inb');
    const n =
      await q.run`INSERT INTO inbox (id, customer_id, request_id, processor_id, from_name, amount, currency,
        note, token, status, expires_at, created_at)
      VALUES (${id}, ${payer.id}, ${t.requestId}, ${t.processorId}, ${t.merchant.name}, ${t.amount.value},
        ${t.amount.currency}, ${t.description ?? null}, ${token}, 'OPEN', ${t.expiresAt}, ${now()})
      ON CONFLICT (customer_id, processor_id, request_id) DO NOTHING`;
    if (n === 1) {
      await deps.notifications.record(
        payer.id,
        'request.received',
        `${t.merchant.name} asks you for ${moneyText(t.amount)}${t.description ? `: ${t.description}` : ''}.`,
        t.amount,
      );
    }
  }

  async function inboxView(r: InboxRow) {
    let status: 'OPEN' | 'PAID' | 'DECLINED' | 'EXPIRED' = r.status;
    if (status === 'OPEN') {
      const paid = await q.one<{ id: string }>`SELECT id FROM payments WHERE customer_id = ${r.customer_id}
        AND payee = ${r.processor_id} AND request_id = ${r.request_id} AND state = 'COMMITTED'`;
      if (paid) status = 'PAID';
      else if (Number(r.expires_at) <= now()) status = 'EXPIRED';
    }
    return {
      id: r.id,
      requestId: r.request_id,
      processorId: r.processor_id,
      from: r.from_name,
      amount: { value: r.amount, currency: r.currency },
      note: r.note,
      status,
      createdAt: Number(r.created_at),
      expiresAt: Number(r.expires_at),
      code: r.token,
    };
  }

  return {
    /** `POST /v1/wallet/p2p/resolve`: what the payer sees before approving (the payee's short name, `Ben O.`). */
    async resolve(customer: Customer, to: string) {
      if (ownIdentifier(customer, to)) {
        throw new SemopsError('VALIDATION_FAILED', 'You cannot send money to yourself.');
      }
      const { processorId, alias } = await locate(to);
      let token: string;
      if (processorId === self) {
        token = await p2pRequestFor(await localParty(alias, customer));
      } else {
        const res = await deps.hub.send('party.lookup', { processorId, alias });
        token = await payments.openSealedToken(res.sealed);
      }
      const shown = await payments.resolveToken(customer, token);
      if (shown.processorId !== processorId) {
        throw new SemopsError('REQUEST_TOKEN_INVALID', 'Another processor answered for this payee.');
      }
      return { ...shown, kind: 'p2p' as const };
    },

    /** `party.lookup` from another processor: a request payable to our customer, sealed to the requester. */
    async partyLookupForPeer(alias: string, requester: string) {
      const token = await p2pRequestFor(await localParty(alias));
      return { sealed: await encryptJson({ token }, await deps.encryptionKeyOf(requester)) };
    },

    /** `POST /v1/wallet/p2p/requests`: ask someone for money; it lands in their inbox at their processor. */
    async requestMoney(customer: Customer, from: string, amount: MoneyWire, note?: string) {
      if (ownIdentifier(customer, from)) {
        throw new SemopsError('VALIDATION_FAILED', 'You cannot ask yourself for money.');
      }
      if (amount.currency !== customer.currency) {
        throw new SemopsError('CURRENCY_MISMATCH', `Your account is in ${customer.currency}.`);
      }
      const { processorId, alias } = await locate(from);
      const payer = processorId === self ? await localParty(alias, customer) : undefined;
      const view = await requests.createForCustomer(customer, {
        amount: BigInt(amount.value),
        reference: 'request',
        ...(note ? { description: note } : {}),
        expiresInSeconds: MONEY_REQUEST_TTL_S,
      });
      try {
        if (payer) {
          await storeInboxItem(payer, await payments.verifiedToken(view.token), view.token);
        } else {
          const sealed = await encryptJson(
            { alias, token: view.token },
            await deps.encryptionKeyOf(processorId),
          );
          await deps.hub.send('inbox.deliver', { processorId, sealed });
        }
      } catch (e) {
        // Not delivered: nobody can pay it, so it should not stay open either.
        await requests.declineForPeer(view.id);
        throw e;
      }
      return { requestId: view.id, status: 'SENT' as const };
    },

    /** `inbox.deliver` from another processor: a signed request for money for one of our customers. */
    async inboxDeliverForPeer(sealed: string, requester: string) {
      const opened = (await payments.openSealed(sealed)) as { alias?: unknown; token?: unknown } | null;
      if (typeof opened?.alias !== 'string' || typeof opened.token !== 'string') {
        throw new SemopsError('VALIDATION_FAILED', 'inbox.deliver carries { alias, token }.');
      }
      const t = await payments.verifiedToken(opened.token);
      if (t.processorId !== requester) {
        throw new SemopsError('FORBIDDEN', 'A processor delivers only its own requests.');
      }
      await storeInboxItem(await localParty(opened.alias), t, opened.token);
      return { ok: true as const };
    },

    /** `inbox.declined` from another processor: its customer declined our customer's request. */
    async inboxDeclinedForPeer(requestId: string) {
      await requests.declineForPeer(requestId);
      return { ok: true as const };
    },

    async inbox(customer: Customer, limit = 50) {
      const rows = await q.all<InboxRow>`SELECT * FROM inbox WHERE customer_id = ${customer.id}
        ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
      return Promise.all(rows.map(inboxView));
    },

    /** Declines a request for money: it can no longer be paid from here; its processor is told (best effort). */
    async decline(customer: Customer, id: string) {
      const r = await q.one<InboxRow>`SELECT * FROM inbox WHERE id = ${id} AND customer_id = ${customer.id}`;
      if (!r) throw new SemopsError('REQUEST_NOT_FOUND');
      const before = await inboxView(r);
      if (before.status === 'PAID') throw new SemopsError('REQUEST_ALREADY_PAID');
      await q.run`UPDATE inbox SET status = 'DECLINED' WHERE id = ${id}`;
      if (r.processor_id === self) await requests.declineForPeer(r.request_id);
      else {
        void deps.hub
          .send('inbox.declined', { processorId: r.processor_id, requestId: r.request_id })
          .catch((e: unknown) => deps.log.warn({ err: String(e) }, 'inbox.declined not delivered'));
      }
      return inboxView((await q.one<InboxRow>`SELECT * FROM inbox WHERE id = ${id}`)!);
    },
  };
}

export type P2pService = ReturnType<typeof createP2pService>;
