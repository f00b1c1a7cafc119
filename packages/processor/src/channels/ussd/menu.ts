/**
 * The USSD menu (`*<code>#`). Gateways send everything the customer typed in the session, joined by `*`, on
 * every step; the menu replays those inputs through its screens and answers the last one with `CON <screen>`
 * (wait for more input) or `END <text>` (session over). Money moves, and PINs are checked, only on the final
 * input of a session, once per session id, so a gateway retry never acts twice. Nothing the customer typed
 * is ever shown back, and every reply fits in 160 characters.
 *
 * A request in another currency shows its FX quote on the PIN screen (total in the customer's currency, fee,
 * rate); the session keeps the id of the quote it showed last (`ussd_quotes`), and the PIN pays at exactly
 * that quote — never at another one made meanwhile elsewhere (the wallet, an SMS PAY). The screen shows the
 * same quote again while it holds for a while, else a new one. If the quote has expired (or was used) by the
 * time the PIN arrives, nothing is paid and the PIN screen comes back with a new quote (the replayed session
 * then holds two PINs; the first one only asked for the new quote).
 *
 *   1 Send money      phone or name@processor → (the person's name as their processor shows it) amount → PIN
 *   2 Pay merchant    code → [amount] → PIN
 *   3 Withdraw cash   agent till number → [amount] → PIN   (a payment to the agent's till request)
 *   4 Balance
 *   5 Mini statement
 *   6 Change PIN      current PIN → new PIN → new PIN again
 *   7 Block account   1 to confirm: every channel refuses payments until the operator unblocks
 *   0 on any screen below the main menu goes back to it.
 *
 * Before a PIN screen the account is checked: when it does not cover the payment (or a limit is in the way)
 * the customer is told so, with what is available, and no PIN is asked. The person a session looked up for
 * "Send money" is kept with the session (`ussd_payees`), so that replaying its inputs asks the payee's
 * processor once. Every answer carries the stable code of the failure it reports, if any (`Said`).
 */
import type { Sql } from '@semops/node';
import { SemopsError, isErrorCode, type ErrorCode } from '@semops/protocol';
import type { Customer, CustomerService } from '../../customers/service.js';
import { ADDRESS_RE } from '../../p2p/service.js';
import { rangeText, refusal, say, type ChannelCore, type Quote, type Said } from '../core.js';
import { normalizePhone, type UssdRequest } from '../gateway.js';
import { MAX_SCREEN, clip, showMoney } from '../text.js';
import type { FxQuoteView } from '../../fx/service.js';

const BUSY_SESSION = 'Your request is being processed. Dial again to check your balance.';

/** How long the answer of a finished session is kept for gateway retries. */
const SESSION_MEMORY_MS = 24 * 60 * 60_000;
/** How long a session pays the person it looked up before looking them up again (their request lives 10 min). */
const PAYEE_MEMORY_MS = 5 * 60_000;

/** Longest session, in inputs, that the menu replays. */
const MAX_INPUTS = 12;
const PIN = /^\d{4,6}$/;
/** Shown above the PIN screen when the quote expired before the PIN came. */
const RATE_EXPIRED = 'Rate expired. New quote:';

export interface UssdDeps {
  readonly q: Sql;
  readonly core: ChannelCore;
  readonly customers: CustomerService;
  readonly now: () => number;
}

/** Paying a merchant's request, an agent's till (cash out), or a person (send money). */
type PayKind = 'pay' | 'withdraw' | 'send';

type Screen =
  | { readonly at: 'main' }
  | { readonly at: 'send.to' }
  | { readonly at: 'pay.code'; readonly kind: Exclude<PayKind, 'send'> }
  | { readonly at: 'pay.amount'; readonly kind: PayKind; readonly quote: Quote }
  | {
      readonly at: 'pay.pin';
      readonly kind: PayKind;
      readonly quote: Quote;
      readonly amount: bigint;
      /** The FX quote shown with the PIN prompt (a request in another currency; set when shown). */
      readonly fx?: FxQuoteView;
    }
  | { readonly at: 'block' }
  | { readonly at: 'pin.old' }
  | { readonly at: 'pin.new'; readonly old: string }
  | { readonly at: 'pin.repeat'; readonly old: string; readonly next: string };

/**
 * Where an input leads: another screen (with a notice when the input was refused, and its code) or the end
 * (with the code of the failure it reports).
 */
type Step = { readonly screen: Screen; readonly notice?: string; readonly code?: ErrorCode } | End;
type End = { readonly end: string; readonly code?: ErrorCode };

/** The step that refuses an input with `e` on the same screen. */
const refuse = (s: Screen, e: unknown): Step => {
  const r = refusal(e);
  return { screen: s, notice: r.text, ...(r.code ? { code: r.code } : {}) };
};
/** The step that ends the session with the failure `e`. */
const endWith = (e: unknown): End => {
  const r = refusal(e);
  return { end: r.text, ...(r.code ? { code: r.code } : {}) };
};

export const MAIN_MENU =
  'SEMOPS\n1 Send money\n2 Pay merchant\n3 Withdraw cash\n4 Balance\n5 Mini statement\n6 Change PIN\n7 Block account';

/** `CON …` or `END …`, never longer than 160 characters. */
export function reply(kind: 'CON' | 'END', text: string): string {
  return clip(`${kind} ${text}`, MAX_SCREEN);
}

function prompt(s: Screen): string {
  switch (s.at) {
    case 'main':
      return MAIN_MENU;
    case 'send.to':
      return 'Send money\nEnter phone number with country code, or name@provider:\n0 Back';
    case 'pay.code':
      return s.kind === 'pay' ? 'Enter merchant code:\n0 Back' : 'Enter agent till number:\n0 Back';
    case 'pay.amount':
      return s.kind === 'send'
        ? `Send to ${s.quote.merchant}\nEnter amount (${rangeText(s.quote)}):\n0 Back`
        : `${s.quote.merchant}\nEnter amount (${rangeText(s.quote)}):\n0 Back`;
    case 'pay.pin': {
      const money = showMoney(s.amount, s.quote.currency);
      if (s.fx) return fxPinPrompt(s.kind, money, s.quote.merchant, s.fx);
      return `${verbOf(s.kind, money, s.quote.merchant)}?\nEnter PIN to approve:\n0 Back`;
    }
    case 'block':
      return 'Block your account on every channel (lost phone)? Only your provider can unblock it.\n1 Block\n0 Back';
    case 'pin.old':
      return 'Change PIN\nEnter current PIN:\n0 Back';
    case 'pin.new':
      return 'Enter new PIN (4 to 6 digits):\n0 Back';
    case 'pin.repeat':
      return 'Enter new PIN again:\n0 Back';
  }
}

/**
 * The PIN screen of a converted payment: the merchant's amount, what the customer pays in their currency
 * (fee included), the rate. The merchant's name gives way first when the screen is full.
 */
function fxPinPrompt(kind: PayKind, money: string, merchant: string, fx: FxQuoteView): string {
  const fee = BigInt(fx.fee.value) > 0n ? ` incl. fee ${showMoney(fx.fee.value, fx.fee.currency)}` : '';
  const pays = `= ${showMoney(fx.total.value, fx.total.currency)}${fee}`;
  const verb = verbOf(kind, money);
  const room = MAX_SCREEN - 4;
  const candidates = [
    `${verbOf(kind, money, merchant)}\n${pays}\n${fx.rate}\nEnter PIN to approve:\n0 Back`,
    `${verb}\n${pays}\n${fx.rate}\nEnter PIN to approve:\n0 Back`,
    `${verb}\n${pays}\n${fx.rate}\nPIN:\n0 Back`,
  ];
  return candidates.find((c) => [...c].length <= room) ?? candidates.at(-1)!;
}

/** `Pay 5.00 EUR to Cafe Central`, `Withdraw 20.00 EUR at Kiosk 12`, `Send 5.00 EUR to Ben O.` */
function verbOf(kind: PayKind, money: string, payee?: string): string {
  switch (kind) {
    case 'pay':
      return payee ? `Pay ${money} to ${payee}` : `Pay ${money}`;
    case 'withdraw':
      return payee ? `Withdraw ${money} at ${payee}` : `Withdraw ${money}`;
    case 'send':
      return payee ? `Send ${money} to ${payee}` : `Send ${money}`;
  }
}

/** A phone number (E.164) or a `name@processor` address, as typed on the keypad; undefined when neither. */
function personTarget(typed: string): string | undefined {
  const address = typed.toLowerCase();
  return ADDRESS_RE.test(address) ? address : normalizePhone(typed);
}

/** A screen with an optional notice above it, cut to fit: the notice gives way before the prompt. */
function screen(s: Screen, notice?: string): string {
  const body = prompt(s);
  if (!notice) return reply('CON', body);
  const room = MAX_SCREEN - 4 - [...body].length - 1;
  return room >= 8 ? reply('CON', `${clip(notice, room)}\n${body}`) : reply('CON', body);
}

interface PayeeRow {
  target: string;
  request_id: string;
  payee: string;
  name: string;
  currency: string;
  created_at: number | string;
}

export function createUssdMenu(deps: UssdDeps) {
  const { q, core, customers, now } = deps;
  const finish = (said: Said, sessionId: string) =>
    q.run`UPDATE ussd_sessions SET reply = ${said.text}, code = ${said.code ?? null}
      WHERE session_id = ${sessionId}`;

  /** Remembers the FX quote the session's PIN screen shows: the one its PIN pays at. */
  async function showQuote(req: UssdRequest, quoteId: string): Promise<void> {
    const t = now();
    await q.run`DELETE FROM ussd_quotes WHERE created_at < ${t - SESSION_MEMORY_MS}`;
    await q.run`INSERT INTO ussd_quotes (session_id, phone, quote_id, created_at)
      VALUES (${req.sessionId}, ${req.phoneNumber}, ${quoteId}, ${t})
      ON CONFLICT (session_id) DO UPDATE SET quote_id = excluded.quote_id, created_at = excluded.created_at
        WHERE ussd_quotes.phone = excluded.phone`;
  }

  /** The FX quote the session's PIN screen showed last, if any. */
  async function shownQuote(req: UssdRequest): Promise<string | undefined> {
    const r = await q.one<{ quote_id: string }>`SELECT quote_id FROM ussd_quotes
      WHERE session_id = ${req.sessionId} AND phone = ${req.phoneNumber}`;
    return r?.quote_id;
  }

  /**
   * Runs the final action of a session once: a retry of the same session gets the first answer (or, while
   * the first is still running, a note that it is being processed).
   */
  async function once(req: UssdRequest, action: () => Promise<Said>): Promise<End> {
    // Gateways retry within seconds and close sessions within minutes: a day of sessions is plenty.
    await q.run`DELETE FROM ussd_sessions WHERE created_at < ${now() - SESSION_MEMORY_MS}`;
    const claimed = await q.run`INSERT INTO ussd_sessions (session_id, phone, created_at)
      VALUES (${req.sessionId}, ${req.phoneNumber}, ${now()}) ON CONFLICT DO NOTHING`;
    if (claimed !== 1) return ended((await earlier(req)) ?? { text: BUSY_SESSION });
    let said: Said;
    try {
      said = await action();
    } catch (e) {
      await finish(refusal(e), req.sessionId); // not a SemopsError (those are answers): outcome unknown
      throw e;
    }
    await finish(said, req.sessionId);
    return ended(said);
  }

  /** The answer of a session that already reached its final action, if it did. */
  async function earlier(req: UssdRequest): Promise<Said | undefined> {
    const r = await q.one<{
      phone: string;
      reply: string | null;
      code: string | null;
    }>`SELECT phone, reply, code FROM ussd_sessions WHERE session_id = ${req.sessionId}`;
    if (!r) return undefined;
    if (r.phone !== req.phoneNumber) return { text: 'Session error. Please dial again.', code: 'FORBIDDEN' };
    if (r.reply === null) return { text: BUSY_SESSION };
    return { text: r.reply, ...(isErrorCode(r.code) ? { code: r.code } : {}) };
  }

  /** PIN screens are refused at once when the PIN is locked: no point asking for it. */
  function toPin(c: Customer, next: Screen): Step {
    return c.pinLocked ? endWith(new SemopsError('PIN_LOCKED')) : { screen: next };
  }

  /**
   * The PIN screen for paying `amount` of `quote`, once the account is known to cover it: otherwise the
   * customer is told what is available (or the limit in the way) on the amount screen when they chose the
   * amount, or at the end when the amount is the merchant's.
   */
  async function toPinIfAffordable(
    c: Customer,
    kind: PayKind,
    quote: Quote,
    amount: bigint,
    from: Screen | undefined,
  ): Promise<Step> {
    try {
      await core.affordable(c, amount, await core.fxQuote(c, quote, amount));
    } catch (e) {
      return from ? refuse(from, e) : endWith(e);
    }
    return toPin(c, { at: 'pay.pin', kind, quote, amount });
  }

  /**
   * The person behind `to`, as this session looked them up (the request payable to them), or looked up now
   * and kept with the session.
   */
  async function person(c: Customer, req: UssdRequest, to: string): Promise<Quote> {
    const t = now();
    const kept = await q.one<PayeeRow>`SELECT target, request_id, payee, name, currency, created_at
      FROM ussd_payees WHERE session_id = ${req.sessionId} AND phone = ${req.phoneNumber}`;
    if (kept && kept.target === to && Number(kept.created_at) > t - PAYEE_MEMORY_MS) {
      return {
        requestId: kept.request_id,
        payee: kept.payee,
        merchant: kept.name,
        person: true,
        reference: '',
        currency: kept.currency,
      };
    }
    const quote = await core.person(c, to);
    await q.run`DELETE FROM ussd_payees WHERE created_at < ${t - SESSION_MEMORY_MS}`;
    await q.run`INSERT INTO ussd_payees (session_id, phone, target, request_id, payee, name, currency, created_at)
      VALUES (${req.sessionId}, ${req.phoneNumber}, ${to}, ${quote.requestId}, ${quote.payee}, ${quote.merchant},
        ${quote.currency}, ${t})
      ON CONFLICT (session_id) DO UPDATE SET target = excluded.target, request_id = excluded.request_id,
        payee = excluded.payee, name = excluded.name, currency = excluded.currency, created_at = excluded.created_at
        WHERE ussd_payees.phone = excluded.phone`;
    return quote;
  }

  async function step(c: Customer, s: Screen, x: string, last: boolean, req: UssdRequest): Promise<Step> {
    if (s.at !== 'main' && x === '0') return { screen: { at: 'main' } };
    switch (s.at) {
      case 'main':
        switch (x) {
          case '1':
            return { screen: { at: 'send.to' } };
          case '2':
            return { screen: { at: 'pay.code', kind: 'pay' } };
          case '3':
            return { screen: { at: 'pay.code', kind: 'withdraw' } };
          case '4':
            return { end: await core.balanceText(c) };
          case '5':
            return { end: await core.statementText(c, 5, MAX_SCREEN - 4) };
          case '6':
            return toPin(c, { at: 'pin.old' });
          case '7':
            return { screen: { at: 'block' } };
          default:
            return invalidChoice(s);
        }
      case 'send.to': {
        const to = personTarget(x);
        if (to === undefined) {
          return refuse(s, new SemopsError('VALIDATION_FAILED', 'Not a phone number or name@provider.'));
        }
        try {
          return { screen: { at: 'pay.amount', kind: 'send', quote: await person(c, req, to) } };
        } catch (e) {
          const retry =
            e instanceof SemopsError && (e.code === 'ALIAS_NOT_FOUND' || e.code === 'VALIDATION_FAILED');
          return retry ? refuse(s, e) : endWith(e);
        }
      }
      case 'pay.code': {
        let quote: Quote;
        try {
          quote = await core.quote(c, x);
        } catch (e) {
          const retry =
            e instanceof SemopsError && (e.code === 'CODE_INVALID' || e.code === 'REQUEST_NOT_FOUND');
          return retry ? refuse(s, e) : endWith(e);
        }
        if (quote.amount === undefined) return { screen: { at: 'pay.amount', kind: s.kind, quote } };
        return toPinIfAffordable(c, s.kind, quote, quote.amount, undefined);
      }
      case 'pay.amount': {
        let amount: bigint;
        try {
          amount = core.amountFor(s.quote, x);
        } catch (e) {
          return refuse(s, e);
        }
        return toPinIfAffordable(c, s.kind, s.quote, amount, s);
      }
      case 'pay.pin': {
        if (!PIN.test(x)) return refuse(s, new SemopsError('PIN_FORMAT'));
        const converts = s.quote.currency !== c.currency;
        // A PIN followed by more input: for a conversion, it was answered with a new quote (below).
        if (!last) {
          return converts ? { screen: s, notice: RATE_EXPIRED, code: 'QUOTE_EXPIRED' } : sessionEnded();
        }
        // Pay at exactly the quote this session showed, and never at one that no longer holds: show the new
        // one and ask again (nothing acted yet). No quote shown yet: show one first.
        const shown = converts ? await shownQuote(req) : undefined;
        if (converts && !(await core.quoteHolds(c, s.quote, s.amount, shown))) {
          return shown === undefined
            ? { screen: s }
            : { screen: s, notice: RATE_EXPIRED, code: 'QUOTE_EXPIRED' };
        }
        return once(req, async () => {
          const o = await core.pay(c, s.quote, s.amount, x, 'ussd', shown);
          if (o.status !== 'COMPLETED' || s.kind !== 'withdraw') return o;
          const money = showMoney(s.amount, s.quote.currency);
          return {
            text: `Withdrawal of ${money} at ${s.quote.merchant} approved. Receipt ${o.receiptId ?? '-'}. Collect your cash.`,
          };
        });
      }
      case 'block':
        if (x !== '1') return invalidChoice(s);
        if (!last) return sessionEnded();
        return once(req, async () => ({ text: await core.block(c, 'ussd') }));
      case 'pin.old':
        return PIN.test(x) ? { screen: { at: 'pin.new', old: x } } : refuse(s, new SemopsError('PIN_FORMAT'));
      case 'pin.new':
        return PIN.test(x)
          ? { screen: { at: 'pin.repeat', old: s.old, next: x } }
          : refuse(s, new SemopsError('PIN_FORMAT'));
      case 'pin.repeat': {
        if (x !== s.next) {
          return { end: 'The new PINs do not match. Your PIN was not changed.', code: 'VALIDATION_FAILED' };
        }
        if (!last) return sessionEnded();
        return once(req, async () => {
          try {
            await customers.changePin(c.id, s.old, s.next);
            return { text: 'Your PIN was changed.' };
          } catch (e) {
            if (!(e instanceof SemopsError)) throw e;
            return { text: `${say(e)} Your PIN was not changed.`, code: e.code };
          }
        });
      }
    }
  }

  return {
    /** Answers one USSD request with `CON …` or `END …`, and the code of the failure it reports. */
    async handle(req: UssdRequest): Promise<Said> {
      let c: Customer;
      try {
        c = await core.customerByPhone(req.phoneNumber);
      } catch (e) {
        return answer(endWith(e));
      }
      // A retry of a finished session gets its answer without replaying it (the request may be paid now).
      const done = await earlier(req);
      if (done !== undefined) return answer(ended(done));
      const inputs = req.text === '' ? [] : req.text.split('*').map((x) => x.trim());
      if (inputs.length > MAX_INPUTS) {
        return answer({ end: 'This session is too long. Please dial again.', code: 'VALIDATION_FAILED' });
      }
      let s: Screen = { at: 'main' };
      let notice: string | undefined;
      let code: ErrorCode | undefined;
      for (let i = 0; i < inputs.length; i++) {
        const r = await step(c, s, inputs[i]!, i === inputs.length - 1, req);
        if ('end' in r) return answer(r);
        s = r.screen;
        notice = r.notice;
        code = r.code;
      }
      if (s.at === 'pay.pin' && s.quote.currency !== c.currency) {
        // Every PIN screen of a conversion shows a quote that holds (the same while it holds for a while, else
        // a new one), and the session keeps it: the PIN pays at that quote.
        try {
          const fx = await core.fxQuote(c, s.quote, s.amount);
          if (fx) {
            await showQuote(req, fx.quoteId);
            s = { ...s, fx };
          }
        } catch (e) {
          return answer(endWith(e));
        }
      }
      return { text: screen(s, notice), ...(code ? { code } : {}) };
    },
  };
}

/** The USSD answer of a session's end. */
function answer(r: End): Said {
  return { text: reply('END', r.end), ...(r.code ? { code: r.code } : {}) };
}

/** The end of a session with what was said (a final action's outcome). */
function ended(said: Said): End {
  return { end: said.text, ...(said.code ? { code: said.code } : {}) };
}

function invalidChoice(s: Screen): Step {
  return { screen: s, notice: 'Invalid choice.', code: 'VALIDATION_FAILED' };
}

function sessionEnded(): End {
  return { end: 'This session has ended. Please dial again.', code: 'VALIDATION_FAILED' };
}

export type UssdMenu = ReturnType<typeof createUssdMenu>;
