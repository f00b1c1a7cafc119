/**
 * Payments by SMS. `PAY <code> [amount]` resolves the merchant's request, `SEND <phone|name@processor>
 * <amount>` finds the person (at this processor or another) and resolves a request payable to them; either
 * shows who is paid (a person by the name their processor shows, `Ben O.`), says at once when the account
 * does not cover it or a limit is in the way, and asks for the PIN. The PIN comes in the next message, alone,
 * within two minutes (the seeds: the PIN never travels in the same message as the account or the payee).
 * Every inbound text gets exactly one reply, with the stable error code of the failure it reports; bad input
 * changes nothing.
 *
 * A request in another currency is confirmed with its FX quote (total in the customer's currency, fee, rate),
 * whose id the confirmation keeps: the PIN pays at exactly that quote while it holds (never at a quote made
 * meanwhile in the wallet or by another PAY). Later, nothing is paid and the reply shows the new quote, which
 * the confirmation then keeps, and for which the customer sends the PIN again.
 */
import type { Sql, Log } from '@semops/node';
import { SemopsError, parseAmount, type ErrorCode } from '@semops/protocol';
import type { Customer } from '../../customers/service.js';
import {
  quoteSeconds,
  quoteText,
  rangeText,
  refusal,
  words,
  type ChannelCore,
  type Quote,
  type Said,
} from '../core.js';
import type { QuoteKind } from '../payees.js';
import type { FxQuoteView } from '../../fx/service.js';
import type { InboundSms, SmsGateway } from '../gateway.js';
import { MAX_SCREEN, clip, fitLines, fold, showMoney } from '../text.js';
import { parseSmsCommand, storedText, type SmsCommand, type UsageVerb } from './parser.js';
import type { SmsStore } from './store.js';

/** How long a PAY or SEND waits for its PIN. */
export const CONFIRMATION_TTL_MS = 2 * 60_000;

export const HELP_TEXT =
  'PAY <code> [amount], SEND <phone> <amount>, BILL <biller> <account> <amount>, AIRTIME [phone] <amount>, ' +
  'INBOX, BAL, MINI, BLOCK, CHANGEPIN. PIN only when asked.';

/** How a command with arguments that do not fit it is answered. */
const USAGE: Record<UsageVerb, string> = {
  PAY: 'To pay, send PAY <code> or PAY <code> <amount>, e.g. PAY 2020000171 5.50',
  SEND: 'To send money, send SEND <phone or name@provider> <amount>, e.g. SEND +43660123456 10',
  BILL: 'To pay a bill, send BILL <biller code> <account number> <amount>, e.g. BILL 10100 4711 45.50',
  AIRTIME:
    'To buy airtime, send AIRTIME <amount> for this phone, or AIRTIME <phone> <amount>, e.g. AIRTIME 5',
  ACCEPT: 'To pay a request, send INBOX to see them, then ACCEPT <number>, e.g. ACCEPT 1',
  DECLINE: 'To decline a request, send INBOX to see them, then DECLINE <number>, e.g. DECLINE 1',
};

/** Where the PIN is changed: a PIN never travels in a text together with another. */
const CHANGE_PIN_TEXT =
  'To change your PIN, dial *384# and choose 6 Change PIN. Never text your PIN except alone, to confirm a payment.';

/** Requests for money the INBOX reply lists (ACCEPT and DECLINE take their numbers). */
const INBOX_ITEMS = 3;

/** What a confirmation waits to do: pay (a merchant, a bill), send money to a person, or buy airtime. */
type ConfirmationKind = 'pay' | QuoteKind;

export interface SmsServiceDeps {
  readonly q: Sql;
  readonly core: ChannelCore;
  readonly store: SmsStore;
  readonly gateway: SmsGateway;
  readonly now: () => number;
  readonly log: Log;
}

interface ConfirmationRow {
  phone: string;
  customer_id: string;
  request_id: string;
  payee: string;
  amount: string;
  currency: string;
  merchant: string;
  kind: ConfirmationKind;
  /** The FX quote shown with the PIN prompt (a request in another currency). */
  quote_id: string | null;
  expires_at: number;
  created_at: number;
}

export function createSmsService(deps: SmsServiceDeps) {
  const { q: sql, core, store, gateway, now } = deps;
  const putConfirmation = (r: ConfirmationRow) => sql.run`INSERT INTO sms_confirmations
      (phone, customer_id, request_id, payee, amount, currency, merchant, kind, quote_id, expires_at, created_at)
    VALUES (${r.phone}, ${r.customer_id}, ${r.request_id}, ${r.payee}, ${r.amount}, ${r.currency}, ${r.merchant},
      ${r.kind}, ${r.quote_id}, ${r.expires_at}, ${r.created_at})
    ON CONFLICT (phone) DO UPDATE SET customer_id = excluded.customer_id, request_id = excluded.request_id,
      payee = excluded.payee, amount = excluded.amount, currency = excluded.currency, merchant = excluded.merchant,
      kind = excluded.kind, quote_id = excluded.quote_id, expires_at = excluded.expires_at,
      created_at = excluded.created_at`;
  // Taking the confirmation deletes it, so that one PIN pays once even when two arrive together.
  const takeConfirmation = (phone: string) =>
    sql.one<ConfirmationRow>`DELETE FROM sms_confirmations WHERE phone = ${phone} RETURNING *`;

  /** The first text that fits one SMS (the last one clipped when none does). */
  const fitting = (...texts: string[]) =>
    texts.find((t) => [...t].length <= MAX_SCREEN) ?? clip(texts.at(-1)!, MAX_SCREEN);

  /** What a converted payment asks before the PIN: payee's amount, total in the customer's currency, rate. */
  function fxAsk(q: Quote, amount: bigint, fx: FxQuoteView): string {
    const money = showMoney(amount, q.currency);
    const w = words(q);
    const ask = `Reply with your PIN within ${quoteSeconds(fx, now())}s to approve.`;
    return fitting(
      `${w.ask(money)}: ${quoteText(fx)}. ${ask}`,
      `${w.short(money)}: ${quoteText(fx)}. ${ask}`,
      `${w.short(money)}: ${quoteText(fx)}. Reply with PIN.`,
    );
  }

  /**
   * Asks for the PIN to pay `amount` of a resolved request (a merchant's or a person's): the FX quote when it
   * converts, refused at once when the account does not cover it or a limit is in the way.
   */
  async function askPin(c: Customer, q: Quote, amount: bigint): Promise<Said> {
    let fx: FxQuoteView | undefined;
    try {
      fx = await core.fxQuote(c, q, amount);
      await core.affordable(c, amount, fx);
    } catch (e) {
      return refusal(e);
    }
    const t = now();
    await putConfirmation({
      phone: c.phone,
      customer_id: c.id,
      request_id: q.requestId,
      payee: q.payee,
      amount: amount.toString(),
      currency: q.currency,
      merchant: q.merchant,
      kind: q.kind ?? 'pay',
      quote_id: fx?.quoteId ?? null,
      expires_at: t + CONFIRMATION_TTL_MS,
      created_at: t,
    });
    if (fx) return { text: fxAsk(q, amount, fx) };
    const ask = '? Reply with your PIN within 2 minutes to approve; ignore this to cancel.';
    const what = words(q).ask(showMoney(amount, q.currency));
    // A person's request names no reference worth showing ('p2p', 'request').
    const ref = q.reference && !q.kind ? ` (ref ${clip(fold(q.reference, 40), 20)})` : '';
    return { text: [...(what + ref + ask)].length <= MAX_SCREEN ? what + ref + ask : what + ask };
  }

  async function payCommand(c: Customer, code: string, typed: string | undefined): Promise<Said> {
    let q: Quote;
    let amount: bigint;
    try {
      q = await core.quote(c, code);
    } catch (e) {
      return refusal(e);
    }
    try {
      amount = core.amountFor(q, typed);
    } catch (e) {
      if (e instanceof SemopsError && e.code === 'AMOUNT_REQUIRED') {
        return {
          text: `${q.merchant} lets you choose the amount (${rangeText(q)}). Send PAY ${clip(code, 40)} <amount>.`,
          code: e.code,
        };
      }
      return refusal(e);
    }
    return askPin(c, q, amount);
  }

  /** Pays a bill, or buys airtime: `resolve` asks the payee's processor for the request. */
  async function billCommand(c: Customer, typed: string, resolve: (amount: bigint) => Promise<Quote>) {
    try {
      const amount = parseAmount(typed, c.currency);
      if (amount <= 0n) throw new SemopsError('AMOUNT_INVALID');
      return await askPin(c, await resolve(amount), amount);
    } catch (e) {
      return refusal(e instanceof RangeError ? new SemopsError('AMOUNT_INVALID') : e);
    }
  }

  /** The open requests for money, numbered for ACCEPT and DECLINE. */
  async function inboxText(c: Customer): Promise<Said> {
    const items = await core.openRequests(c, INBOX_ITEMS);
    if (items.length === 0) return { text: 'No requests to pay.' };
    const lines = items.map((r, i) => ({
      head: `${i + 1} ${showMoney(r.amount, r.currency)}`,
      label: `${r.from}${r.note ? ` ${r.note}` : ''}`,
    }));
    const tail = 'Reply ACCEPT <n> to pay or DECLINE <n>.';
    return { text: `${fitLines('Requests to pay:', lines, MAX_SCREEN - tail.length - 1)}\n${tail}` };
  }

  /** Request `n` of the inbox as INBOX lists it; REQUEST_NOT_FOUND when there is none. */
  async function inboxItem(c: Customer, n: number) {
    const item = (await core.openRequests(c, INBOX_ITEMS))[n - 1];
    if (!item) {
      throw new SemopsError('REQUEST_NOT_FOUND', `No request ${n} is waiting. Send INBOX to see them.`);
    }
    return item;
  }

  async function sendCommand(c: Customer, to: string, typed: string): Promise<Said> {
    try {
      const q = await core.person(c, to);
      return await askPin(c, q, core.amountFor(q, typed));
    } catch (e) {
      return refusal(e);
    }
  }

  async function pinReply(c: Customer, pin: string): Promise<Said> {
    const row = await takeConfirmation(c.phone);
    if (!row || row.customer_id !== c.id) return refusal(new SemopsError('CONFIRMATION_NOT_FOUND'));
    if (row.expires_at <= now()) {
      const text =
        row.kind === 'send'
          ? 'Your confirmation expired; nothing was sent. Send your SEND again.'
          : 'Your confirmation expired; nothing was paid. Send your command again.';
      return { text, code: 'APPROVAL_EXPIRED' };
    }
    const q: Quote = {
      requestId: row.request_id,
      payee: row.payee,
      merchant: row.merchant,
      ...(row.kind === 'pay' ? {} : { kind: row.kind }),
      reference: '',
      currency: row.currency,
    };
    const outcome = await core.pay(c, q, BigInt(row.amount), pin, 'sms', row.quote_id ?? undefined);
    if (outcome.requote) {
      // Nothing was paid and no PIN try counted: the customer sees the new quote and may send the PIN again,
      // which then pays at that one.
      await putConfirmation({
        ...row,
        quote_id: outcome.requote.quoteId,
        expires_at: Math.max(Number(row.expires_at), now() + CONFIRMATION_TTL_MS),
      });
      const v = outcome.requote;
      const ask = `Reply with your PIN within ${quoteSeconds(v, now())}s to pay.`;
      const text = fitting(
        `The exchange rate expired; nothing was paid. New: ${quoteText(v)}. ${ask}`,
        `Rate expired, nothing paid. New: ${quoteText(v)}. ${ask}`,
        `Rate expired. New: ${quoteText(v)}. Reply with PIN.`,
      );
      return { text, ...(outcome.code ? { code: outcome.code } : {}) };
    }
    if (outcome.error?.code === 'PIN_INVALID') {
      // A wrong PIN leaves the confirmation in place (the lock-out limits tries); it keeps its expiry.
      await putConfirmation(row);
      return {
        text: `${outcome.text} Reply with your PIN again, or ignore this message to cancel.`,
        code: 'PIN_INVALID',
      };
    }
    return { text: outcome.text, ...(outcome.code ? { code: outcome.code } : {}) };
  }

  async function answer(from: string, cmd: SmsCommand): Promise<Said> {
    let c: Customer;
    try {
      c = await core.customerByPhone(from);
    } catch (e) {
      return refusal(e);
    }
    switch (cmd.kind) {
      case 'PAY':
        return payCommand(c, cmd.code, cmd.amount);
      case 'PIN':
        return pinReply(c, cmd.pin);
      case 'SEND':
        return sendCommand(c, cmd.to, cmd.amount);
      case 'BILL':
        return billCommand(c, cmd.amount, (amount) => core.bill(c, cmd.code, cmd.account, amount));
      case 'AIRTIME':
        return billCommand(c, cmd.amount, (amount) => core.airtime(c, cmd.phone ?? c.phone, amount));
      case 'INBOX':
        return inboxText(c);
      case 'ACCEPT':
        try {
          const item = await inboxItem(c, cmd.n);
          return await askPin(c, await core.openRequest(c, item), item.amount);
        } catch (e) {
          return refusal(e);
        }
      case 'DECLINE':
        try {
          return { text: await core.decline(c, await inboxItem(c, cmd.n)) };
        } catch (e) {
          return refusal(e);
        }
      case 'CHANGEPIN':
        return { text: CHANGE_PIN_TEXT };
      case 'BAL':
        return { text: await core.balanceText(c) };
      case 'MINI':
        return { text: await core.statementText(c, 5, MAX_SCREEN) };
      case 'HELP':
        return { text: HELP_TEXT };
      case 'BLOCK':
        return { text: await core.block(c, 'sms') };
      case 'USAGE':
        return { text: USAGE[cmd.verb], code: 'VALIDATION_FAILED' };
      case 'UNKNOWN':
        return refusal(new SemopsError('VALIDATION_FAILED'));
    }
  }

  return {
    /**
     * Handles one inbound text: stores it (a PIN as `****`), answers it, and sends and stores the answer.
     * A message id the gateway already delivered is ignored. Returns the replies sent.
     */
    async receive(m: InboundSms): Promise<{ duplicate: boolean; replies: string[]; code?: ErrorCode }> {
      const cmd = parseSmsCommand(m.text);
      const stored = await store.record({
        direction: 'in',
        phone: m.from,
        service: m.to,
        text: storedText(m.text, cmd),
        ...(m.gatewayId ? { gatewayId: m.gatewayId } : {}),
      });
      if (stored === undefined) return { duplicate: true, replies: [] };
      let reply: Said;
      try {
        reply = await answer(m.from, cmd);
      } catch (e) {
        // Logged without the text: it may hold a PIN.
        deps.log.error({ err: e instanceof Error ? e.name : 'unknown' }, 'sms command failed');
        reply = refusal(e);
      }
      try {
        await gateway.send(m.from, reply.text);
      } catch (e) {
        // The inbound text is handled either way; failing the webhook would only make the gateway retry it.
        deps.log.warn({ err: e instanceof Error ? e.name : 'unknown' }, 'sms reply not delivered');
      }
      await sql.run`DELETE FROM sms_confirmations WHERE expires_at <= ${now()}`;
      return { duplicate: false, replies: [reply.text], ...(reply.code ? { code: reply.code } : {}) };
    },
  };
}

export type SmsService = ReturnType<typeof createSmsService>;
