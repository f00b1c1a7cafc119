/**
 * The USSD menu (`*<code>#`). Gateways send everything the customer typed in the session, joined by `*`, on
 * every step; the menu replays those inputs through its screens (`screens.ts`) and answers the last one with
 * `CON <screen>` (wait for more input) or `END <text>` (session over). Money moves, and PINs are checked, only
 * on the final input of a session, once per session id (`session.ts`), so a gateway retry never acts twice.
 * Nothing the customer typed is ever shown back, and every reply fits in 160 characters.
 *
 * A request in another currency shows its FX quote on the PIN screen (total in the customer's currency, fee,
 * rate); the session keeps the id of the quote it showed last, and the PIN pays at exactly that quote — never
 * at another one made meanwhile elsewhere (the wallet, an SMS PAY). The screen shows the same quote again
 * while it holds for a while, else a new one. If the quote has expired (or was used) by the time the PIN
 * arrives, nothing is paid and the PIN screen comes back with a new quote (the replayed session then holds
 * two PINs; the first one only asked for the new quote).
 *
 *   1 Send money        phone or name@processor → (the name their processor shows) amount → PIN
 *   2 Pay merchant      code → [amount] → PIN
 *   3 Withdraw cash     agent till number → [amount] → PIN   (a payment to the agent's till request)
 *   4 Balance
 *   5 Mini statement
 *   6 Change PIN        current PIN → new PIN → new PIN again
 *   7 Block account     1 to confirm: every channel refuses payments until the operator unblocks
 *   8 Bills & airtime   1 Pay bill: biller code → account → amount → PIN
 *                       2 Buy airtime: 1 (this phone) or a phone number → amount → PIN
 *   9 Requests to pay   the open requests for money in the inbox → one → 1 Pay (PIN) or 2 Decline
 *   0 on any screen below the main menu goes back to it.
 *
 * Before a PIN screen the account is checked: when it does not cover the payment (or a limit is in the way)
 * the customer is told so, with what is available, and no PIN is asked. What a session picked to pay (a
 * person, a bill, airtime, a request) is kept with it, so that its replays ask the payee's processor once and
 * keep paying what the customer saw. Every answer carries the stable code of the failure it reports, if any.
 */
import type { Sql } from '@semops/node';
import { SemopsError, parseAmount, type ErrorCode } from '@semops/protocol';
import type { Customer, CustomerService } from '../../customers/service.js';
import { ACCOUNT_RE, BILLER_CODE_RE } from '../../bills/service.js';
import { say, type ChannelCore, type Quote, type Said } from '../core.js';
import { normalizePhone, type UssdRequest } from '../gateway.js';
import { MAX_SCREEN, showMoney } from '../text.js';
import {
  PIN,
  RATE_EXPIRED,
  answer,
  endWith,
  ended,
  invalidChoice,
  personTarget,
  refuse,
  screen,
  sessionEnded,
  type PayKind,
  type Screen,
  type Step,
} from './screens.js';
import { createUssdSessions, type Pick } from './session.js';

export { MAIN_MENU, reply } from './screens.js';

/** Longest session, in inputs, that the menu replays. */
const MAX_INPUTS = 12;
/** Requests for money the inbox screen lists. */
const INBOX_SCREEN_ITEMS = 4;

export interface UssdDeps {
  readonly q: Sql;
  readonly core: ChannelCore;
  readonly customers: CustomerService;
  readonly now: () => number;
}

export function createUssdMenu(deps: UssdDeps) {
  const { core, customers } = deps;
  const sessions = createUssdSessions(deps);

  /** PIN screens are refused at once when the PIN is locked: no point asking for it. */
  function toPin(c: Customer, next: Screen): Step {
    return c.pinLocked ? endWith(new SemopsError('PIN_LOCKED')) : { screen: next };
  }

  /**
   * The PIN screen for paying `amount` of `quote`, once the account is known to cover it: otherwise the
   * customer is told what is available (or the limit in the way) on the amount screen `from` when they chose
   * the amount, or at the end when the amount is the payee's.
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

  /** The final action of a session, run once: its answer ends the session. */
  async function once(req: UssdRequest, action: () => Promise<Said>): Promise<Step> {
    return ended(await sessions.once(req, action));
  }

  /**
   * An amount the customer typed for a bill or airtime, in their currency; then what it pays, picked once per
   * session (`target`); then the PIN screen if the account covers it. An amount out of the biller's range is
   * typed again; any other refusal ends the session.
   */
  async function pickedAmount(
    c: Customer,
    req: UssdRequest,
    s: Screen,
    x: string,
    target: (amount: bigint) => string,
    resolve: (amount: bigint) => Promise<Quote>,
  ): Promise<Step> {
    let amount: bigint;
    try {
      amount = parseAmount(x, c.currency);
      if (amount <= 0n) throw new SemopsError('AMOUNT_INVALID');
    } catch {
      return refuse(s, new SemopsError('AMOUNT_INVALID'));
    }
    let picked: Pick;
    try {
      picked = await sessions.pick(req, target(amount), async () => ({ quote: await resolve(amount) }));
    } catch (e) {
      return e instanceof SemopsError && e.code === 'AMOUNT_OUT_OF_RANGE' ? refuse(s, e) : endWith(e);
    }
    return toPinIfAffordable(c, 'pay', picked.quote, amount, s);
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
          case '8':
            return { screen: { at: 'more' } };
          case '9': {
            const items = await core.openRequests(c, INBOX_SCREEN_ITEMS);
            return items.length === 0 ? { end: 'No requests to pay.' } : { screen: { at: 'inbox', items } };
          }
          default:
            return invalidChoice(s);
        }
      case 'send.to': {
        const to = personTarget(x);
        if (to === undefined) {
          return refuse(s, new SemopsError('VALIDATION_FAILED', 'Not a phone number or name@provider.'));
        }
        try {
          const { quote } = await sessions.pick(req, `send:${to}`, async () => ({
            quote: await core.person(c, to),
          }));
          return { screen: { at: 'pay.amount', kind: 'send', quote } };
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
      case 'pay.pin':
        return pinStep(c, s, x, last, req);
      case 'more':
        if (x === '1') return { screen: { at: 'bill.code' } };
        if (x === '2') return { screen: { at: 'air.phone' } };
        return invalidChoice(s);
      case 'bill.code':
        return BILLER_CODE_RE.test(x)
          ? { screen: { at: 'bill.account', code: x } }
          : refuse(s, new SemopsError('VALIDATION_FAILED', 'A biller code has 5 to 12 digits.'));
      case 'bill.account':
        return ACCOUNT_RE.test(x)
          ? { screen: { at: 'bill.amount', code: s.code, account: x, currency: c.currency } }
          : refuse(s, new SemopsError('ACCOUNT_REFERENCE_INVALID'));
      case 'bill.amount':
        return pickedAmount(
          c,
          req,
          s,
          x,
          (amount) => `bill:${s.code}:${s.account}:${amount}`,
          (amount) => core.bill(c, s.code, s.account, amount),
        );
      case 'air.phone': {
        const phone = x === '1' ? c.phone : normalizePhone(x);
        if (phone === undefined)
          return refuse(s, new SemopsError('VALIDATION_FAILED', 'Not a phone number.'));
        return { screen: { at: 'air.amount', phone, own: phone === c.phone, currency: c.currency } };
      }
      case 'air.amount':
        return pickedAmount(
          c,
          req,
          s,
          x,
          (amount) => `airtime:${s.phone}:${amount}`,
          (amount) => core.airtime(c, s.phone, amount),
        );
      case 'inbox': {
        const item = /^\d$/.test(x) ? s.items[Number(x) - 1] : undefined;
        if (!item) return invalidChoice(s);
        try {
          // The request the customer chose is kept with the session: a new one arriving meanwhile does not
          // change what the next screens show and pay.
          const picked = await sessions.pick(req, `inbox:${x}`, async () => ({
            quote: await core.openRequest(c, item),
            item,
          }));
          return { screen: { at: 'inbox.item', item: picked.item ?? item, quote: picked.quote } };
        } catch (e) {
          return endWith(e);
        }
      }
      case 'inbox.item':
        if (x === '1') {
          return toPinIfAffordable(c, 'send', s.quote, s.quote.amount ?? s.item.amount, undefined);
        }
        if (x !== '2') return invalidChoice(s);
        if (!last) return sessionEnded();
        return once(req, async () => ({ text: await core.decline(c, s.item) }));
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

  /** The PIN on the PIN screen: pays once, at the FX quote the screen showed. */
  async function pinStep(
    c: Customer,
    s: Extract<Screen, { at: 'pay.pin' }>,
    x: string,
    last: boolean,
    req: UssdRequest,
  ): Promise<Step> {
    if (!PIN.test(x)) return refuse(s, new SemopsError('PIN_FORMAT'));
    const converts = s.quote.currency !== c.currency;
    // A PIN followed by more input: for a conversion, it was answered with a new quote (below).
    if (!last) return converts ? { screen: s, notice: RATE_EXPIRED, code: 'QUOTE_EXPIRED' } : sessionEnded();
    // Pay at exactly the quote this session showed, and never at one that no longer holds: show the new one
    // and ask again (nothing acted yet). No quote shown yet: show one first.
    const shown = converts ? await sessions.shownQuote(req) : undefined;
    if (converts && !(await core.quoteHolds(c, s.quote, s.amount, shown))) {
      return shown === undefined ? { screen: s } : { screen: s, notice: RATE_EXPIRED, code: 'QUOTE_EXPIRED' };
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
      const done = await sessions.earlier(req);
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
            await sessions.showQuote(req, fx.quoteId);
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

export type UssdMenu = ReturnType<typeof createUssdMenu>;
