/**
 * Use-case scenarios on top of the core payment: parking permits, event tickets, a vending machine that
 * waits by server-sent events, and an online (WebPay) checkout with return URL and signed webhook. Also the
 * offline check of a signed permit or ticket that `semops verify-receipt` runs.
 */
import {
  RECEIPT_TYP,
  SemopsError,
  formatMoney,
  importSigningKey,
  isEd25519Jwk,
  nodeOfKeyId,
  peekJws,
  receipt as receiptSchema,
  verifyJson,
  type JWK,
  type MoneyWire,
  type Receipt,
} from '@semops/protocol';
import { signWebhook } from '@semops/processor';
import type { PaymentRequest as PaymentRequestView } from '@semops/merchant-sdk';
import type { ResolvedRequest } from '../clients-wallet.js';
import { startReceiver } from '../edge.js';
import { codeOf, json } from '../http.js';
import { check, waitUntil, type Ctx, type Scenario } from '../testkit/index.js';

const eur = (value: bigint): MoneyWire => ({ value: value.toString(), currency: 'EUR' });
const show = (value: bigint) => formatMoney({ value, currency: 'EUR' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MINUTE = 60_000;

/** The outcome of checking a permit or ticket offline. */
export interface ReceiptCheck {
  readonly status: 'valid' | 'expired' | 'invalid';
  readonly reason?: string;
  readonly receipt?: Receipt;
}

/**
 * Checks a signed receipt (parking permit, ticket, or plain receipt) offline: the signature by the given
 * processor public key, the content against the receipt schema, the signer named in the content, and for a
 * permit its validity window at `at`. Nothing is fetched.
 */
export async function checkReceipt(jws: string, publicJwk: JWK, at = Date.now()): Promise<ReceiptCheck> {
  if (!isEd25519Jwk(publicJwk)) return { status: 'invalid', reason: 'the key is not an Ed25519 public JWK' };
  let raw: unknown;
  try {
    const { kid } = peekJws(jws.trim());
    raw = await verifyJson(jws.trim(), await importSigningKey(publicJwk), RECEIPT_TYP);
    const parsed = receiptSchema.safeParse(raw);
    if (!parsed.success) return { status: 'invalid', reason: 'the signed content is not a receipt' };
    const r = parsed.data;
    if (r.processorId !== nodeOfKeyId(kid))
      return { status: 'invalid', reason: 'signer and content disagree', receipt: r };
    if (r.validFrom !== undefined && at < r.validFrom) {
      return { status: 'invalid', reason: 'not valid yet', receipt: r };
    }
    if (r.validUntil !== undefined && at >= r.validUntil) {
      return { status: 'expired', reason: `expired at ${new Date(r.validUntil).toISOString()}`, receipt: r };
    }
    return { status: 'valid', receipt: r };
  } catch (e) {
    if (e instanceof SemopsError) {
      return {
        status: 'invalid',
        reason: e.code === 'SIGNATURE_INVALID' ? 'the signature does not verify' : e.message,
      };
    }
    return { status: 'invalid', reason: 'not a signed receipt' };
  }
}

/**
 * The public key a receipt names, from what the processor published: a `/v1/info` answer (its key history,
 * so a receipt signed before a key rotation finds its key) or a bare JWK.
 */
export function receiptKeyFrom(source: unknown, jws: string): JWK {
  const info = source as { signingKey?: JWK; signingKeys?: Array<{ kid?: unknown; key?: JWK }> } | null;
  if (typeof info !== 'object' || info === null || !('signingKey' in info)) return source as JWK;
  let kid: string | undefined;
  try {
    kid = peekJws(jws.trim()).kid;
  } catch {
    kid = undefined;
  }
  const named = Array.isArray(info.signingKeys) ? info.signingKeys.find((k) => k.kid === kid) : undefined;
  return named?.key ?? (info.signingKey as JWK);
}

/** The request view with the use-case fields. */
type UseCaseRequestView = PaymentRequestView & {
  kind?: 'parking' | 'ticket';
  zone?: string;
  event?: string;
  tariff?: { perMinute: string; minMinutes: number; maxMinutes: number };
  returnUrl?: string;
};
type UseCaseResolved = ResolvedRequest &
  Pick<UseCaseRequestView, 'kind' | 'zone' | 'event' | 'tariff' | 'returnUrl'>;

type Merchant = Awaited<ReturnType<Ctx['merchant']>>;

function createRequest(m: Merchant, body: Record<string, unknown>): Promise<UseCaseRequestView> {
  return json<UseCaseRequestView>('POST', `${m.client.url}/v1/requests`, { token: m.apiKey, body });
}

async function publicKeyOf(ctx: Ctx, processorId: string): Promise<JWK> {
  return (await ctx.processor(processorId).admin.info()).signingKey;
}

/** A tampered copy of a signed receipt: the payload changed, the signature kept. */
export function forge(jws: string, change: (r: Record<string, unknown>) => void): string {
  const [h, p, s] = jws.split('.');
  const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  change(payload);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

/**
 * Follows a request's server-sent events (as a vending machine or POS does) until the stream ends; calls
 * `onStatus` for every status, in order.
 */
export async function followRequest(
  url: string,
  apiKey: string,
  id: string,
  onStatus: (status: string) => void,
): Promise<string[]> {
  const res = await fetch(`${url}/v1/requests/${id}/events`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  if (!res.ok || !res.body) throw new Error(`events stream answered ${res.status}`);
  const statuses: string[] = [];
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let i: number;
    while ((i = text.indexOf('\n\n')) >= 0) {
      const event = text.slice(0, i);
      text = text.slice(i + 2);
      const data = event.split('\n').find((l) => l.startsWith('data: '));
      if (!data) continue;
      const status = (JSON.parse(data.slice(6)) as { status: string }).status;
      statuses.push(status);
      onStatus(status);
    }
  }
  return statuses;
}

export const USE_CASE_SCENARIOS: Scenario[] = [
  {
    name: 'parking: pay 30 minutes in a zone, permit verified offline',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 20_00n);
      const m = await ctx.merchant('mno-b', 'Wien Parken');
      const zone = await createRequest(m, {
        currency: 'EUR',
        kind: 'parking',
        zone: 'Zone 1 Innere Stadt',
        tariff: { perMinute: '5', minMinutes: 10, maxMinutes: 180 },
        reference: 'zone-1',
        reusable: true,
        expiresInSeconds: 86_400,
      });
      check(zone.kind === 'parking' && zone.tariff?.perMinute === '5', 'tariff not in the request view');
      // The payer types the zone's short code and a duration; the wallet turns minutes into an amount.
      const r = (await c.wallet.resolve(zone.shortCode)) as UseCaseResolved;
      check(r.tariff?.perMinute === '5' && r.zone === zone.zone, 'the wallet does not see the tariff');
      const minutes = 30;
      const amount = BigInt(r.tariff.perMinute) * BigInt(minutes);
      const paid = await c.wallet.submit(await c.wallet.approval(r, '1234', { amount: eur(amount) }));
      check(paid.status === 'COMPLETED' && paid.receipt, `payment ${paid.status} ${paid.error ?? ''}`);
      // An inspector has the processor's public key (fetched once) and checks the permit offline.
      const key = await publicKeyOf(ctx, 'mno-b');
      const now = await checkReceipt(paid.receipt, key);
      const p = now.receipt;
      check(now.status === 'valid' && p, `permit is ${now.status}: ${now.reason ?? ''}`);
      check(p.kind === 'parking' && p.zone === 'Zone 1 Innere Stadt', 'permit names no zone');
      check(
        p.minutes === 30 && p.validUntil === (p.validFrom ?? 0) + 30 * MINUTE,
        'permit is not 30 minutes',
      );
      const later = await checkReceipt(paid.receipt, key, (p.validUntil ?? 0) + 1);
      check(later.status === 'expired', `after 30 minutes the permit is ${later.status}`);
      const forged = await checkReceipt(
        forge(paid.receipt, (x) => (x.validUntil = Number(x.validUntil) + 60 * MINUTE)),
        key,
      );
      check(forged.status === 'invalid', `a forged permit is ${forged.status}`);
      // The zone stays payable: a second driver parks in the same zone.
      const d = await ctx.customer('mno-b', 5_00n);
      const again = await d.wallet.pay(zone.shortCode, '1234', eur(10n * 5n));
      check(again.status === 'COMPLETED', `second driver ${again.status}`);
      // A part minute is refused by the zone's processor: the payment fails, nothing moves.
      const odd = await d.wallet.pay(zone.shortCode, '1234', eur(52n));
      check(
        odd.status === 'FAILED' && (odd.error ?? '').includes('AMOUNT_OUT_OF_RANGE'),
        `a part minute gave ${odd.status} ${odd.error ?? ''}`,
      );
      check((await d.wallet.balance()) === 4_50n, 'the part-minute payment moved money');
      return `${minutes} min × 0.05 = ${show(amount)} in ${p.zone}; permit valid until ${new Date(p.validUntil ?? 0).toISOString().slice(11, 19)}, expired after, forged → invalid`;
    },
  },
  {
    name: 'tickets: buy a ticket, validator accepts it once',
    async run(ctx) {
      const c = await ctx.customer('mno-b', 50_00n);
      const m = await ctx.merchant('bank-a', 'Konzerthaus');
      const sale = await createRequest(m, {
        currency: 'EUR',
        kind: 'ticket',
        event: 'Beethoven 9, 31 Dec 20:00',
        amount: eur(25_00n),
        reference: 'concert-31-12',
        reusable: true,
      });
      const paid = await c.wallet.pay(sale.qr, '1234');
      check(paid.status === 'COMPLETED' && paid.receipt, `payment ${paid.status} ${paid.error ?? ''}`);
      const offline = await checkReceipt(paid.receipt, await publicKeyOf(ctx, 'bank-a'));
      check(offline.status === 'valid', `ticket is ${offline.status}: ${offline.reason ?? ''}`);
      check(
        offline.receipt?.kind === 'ticket' && offline.receipt.event === sale.event,
        'ticket names no event',
      );
      const validate = (ticket: string) =>
        json<{ valid: boolean; ticketId: string }>('POST', `${m.client.url}/v1/tickets/validate`, {
          token: m.apiKey,
          body: { ticket },
        });
      // The merchant may only learn of the payment when the hub's commit arrives.
      let first = await codeOf(validate(paid.receipt));
      for (let i = 0; first === 'TICKET_INVALID' && i < 30; i++) {
        await sleep(100);
        first = await codeOf(validate(paid.receipt));
      }
      const second = await codeOf(validate(paid.receipt));
      const forged = await codeOf(validate(forge(paid.receipt, (x) => (x.event = 'Another concert'))));
      check(first === 'OK', `first entry ${first}`);
      check(second === 'TICKET_ALREADY_USED', `second entry ${second}`);
      check(forged === 'TICKET_INVALID', `forged ticket ${forged}`);
      return `ticket ${offline.receipt.receiptId} for ${show(25_00n)}: gate → OK, again → ${second}, forged → ${forged}`;
    },
  },
  {
    name: 'vending machine: dispenses only on commit, unpaid request expires with nothing reserved',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 10_00n);
      const m = await ctx.merchant('mno-b', 'Vending 12');
      const sale = await createRequest(m, { currency: 'EUR', amount: eur(1_50n), reference: 'slot-4' });
      let dispensed = 0;
      let events = 0;
      const dispensedSoFar = () => dispensed;
      const seen = followRequest(m.client.url, m.apiKey, sale.id, (s) => {
        events++;
        if (s === 'PAID') dispensed++;
      });
      // The machine has heard from the stream (the request's first state) and dispensed nothing yet.
      await waitUntil(
        async () => events,
        (n) => n > 0,
      );
      check(events > 0, 'the events stream said nothing');
      check(dispensedSoFar() === 0, 'dispensed before payment');
      const paid = await c.wallet.pay(sale.qr, '1234');
      check(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      const statuses = await seen; // the stream ends by itself once the request is final
      check(statuses[0] === 'OPEN' && statuses.at(-1) === 'PAID', `events ${statuses.join(',')}`);
      check(dispensedSoFar() === 1, `dispensed ${dispensed} times`);

      // The next customer walks away: the request expires, the machine dispenses nothing.
      const unpaid = await createRequest(m, {
        currency: 'EUR',
        amount: eur(2_00n),
        reference: 'slot-7',
        expiresInSeconds: 1,
      });
      const d = await ctx.customer('bank-a', 5_00n);
      await d.wallet.resolve(unpaid.qr); // looked at, never approved
      let dispensed2 = 0;
      const statuses2 = await followRequest(m.client.url, m.apiKey, unpaid.id, (s) => {
        if (s === 'PAID') dispensed2++;
      });
      check(statuses2.at(-1) === 'EXPIRED' && dispensed2 === 0, `events ${statuses2.join(',')}`);
      const late = await codeOf(d.wallet.pay(unpaid.qr, '1234'));
      check(late === 'REQUEST_EXPIRED', `paying late gave ${late}`);
      const me = await d.wallet.me();
      check(me.available.value === '500' && me.balance.value === '500', 'the customer has funds held');
      const broken = await ctx.conservation();
      check(broken === undefined, `something is reserved: ${broken ?? ''}`);
      return `paid sale: ${statuses.join(' → ')}, dispensed once; unpaid: ${statuses2.join(' → ')}, late pay → ${late}, nothing held`;
    },
  },
  {
    name: 'WebPay checkout: return URL and signed webhook',
    async run(ctx) {
      const receiver = await startReceiver();
      const hooks = receiver.received;
      try {
        const hookUrl = `${receiver.url}/semops`;
        const c = await ctx.customer('mno-b', 80_00n);
        const m = await ctx.merchant('bank-a', 'Buchhandlung Online', hookUrl);
        const returnUrl = 'https://shop.example/orders/4711/return';
        const order = await createRequest(m, {
          currency: 'EUR',
          amount: eur(34_90n),
          reference: 'order-4711',
          description: '2 books',
          returnUrl,
        });
        check(order.returnUrl === returnUrl, 'the request view has no returnUrl');
        // The shop redirects to the wallet with the request; the wallet shows it and, once paid, "Back to the shop".
        const r = (await c.wallet.resolve(order.deepLink)) as UseCaseResolved;
        check(r.returnUrl === returnUrl, 'the wallet does not get the returnUrl');
        const paid = await c.wallet.submit(await c.wallet.approval(r, '1234'));
        check(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
        const end = Date.now() + 10_000;
        while (hooks.length === 0 && Date.now() < end) await sleep(100);
        const hook = hooks[0];
        check(hook, 'no webhook arrived');
        const sig = String(hook.headers['semops-signature']);
        const t = Number(/t=(\d+)/.exec(sig)?.[1]);
        check(sig === signWebhook(m.webhookSecret, hook.body, t), 'webhook signature does not verify');
        check(sig !== signWebhook('whsec_wrong', hook.body, t), 'any secret verifies the webhook');
        const event = JSON.parse(hook.body) as {
          type: string;
          data: { requestId: string; paymentId: string };
        };
        check(
          event.type === 'payment.completed' && event.data.requestId === order.id,
          `webhook ${event.type} for ${event.data.requestId}`,
        );
        // Back at the return URL the shop checks the order itself, not the browser's word.
        const status = (await m.client.request(order.id)).status;
        check(status === 'PAID', `order is ${status}`);
        return `${show(34_90n)} paid; wallet offers ${returnUrl}; signed webhook ${event.type} verified; order ${status}`;
      } finally {
        await receiver.close();
      }
    },
  },
];
