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
 *   1 Send money      phone → amount → (arrives with person-to-person payments)
 *   2 Pay merchant    code → [amount] → PIN
 *   3 Withdraw cash   agent till number → [amount] → PIN   (a payment to the agent's till request)
 *   4 Balance
 *   5 Mini statement
 *   6 Change PIN      current PIN → new PIN → new PIN again
 *   7 Block account   1 to confirm: every channel refuses payments until the operator unblocks
 *   0 on any screen below the main menu goes back to it.
 */
import type { Sql } from '@semops/node';
import { SemopsError, parseAmount } from '@semops/protocol';
import type { Customer, CustomerService } from '../../customers/service.js';
import { rangeText, say, type ChannelCore, type Quote } from '../core.js';
import { normalizePhone, type UssdRequest } from '../gateway.js';
import { MAX_SCREEN, clip, showMoney } from '../text.js';
import type { FxQuoteView } from '../../fx/service.js';

const BUSY_SESSION = 'Your request is being processed. Dial again to check your balance.';

/** How long the answer of a finished session is kept for gateway retries. */
const SESSION_MEMORY_MS = 24 * 60 * 60_000;

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

type PayKind = 'pay' | 'withdraw';

type Screen =
  | { readonly at: 'main' }
  | { readonly at: 'send.phone' }
  | { readonly at: 'send.amount' }
  | { readonly at: 'pay.code'; readonly kind: PayKind }
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

/** Where an input leads: another screen (with a notice when the input was refused) or the end. */
type Step = { readonly screen: Screen; readonly notice?: string } | { readonly end: string };

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
    case 'send.phone':
      return 'Send money\nEnter phone number with country code:\n0 Back';
    case 'send.amount':
      return 'Enter amount to send:\n0 Back';
    case 'pay.code':
      return s.kind === 'pay' ? 'Enter merchant code:\n0 Back' : 'Enter agent till number:\n0 Back';
    case 'pay.amount':
      return `${s.quote.merchant}\nEnter amount (${rangeText(s.quote)}):\n0 Back`;
    case 'pay.pin': {
      const money = showMoney(s.amount, s.quote.currency);
      if (s.fx) return fxPinPrompt(s.kind, money, s.quote.merchant, s.fx);
      const what =
        s.kind === 'pay'
          ? `Pay ${money} to ${s.quote.merchant}?`
          : `Withdraw ${money} at ${s.quote.merchant}?`;
      return `${what}\nEnter PIN to approve:\n0 Back`;
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
  const verb = kind === 'pay' ? `Pay ${money}` : `Withdraw ${money}`;
  const where = kind === 'pay' ? ` to ${merchant}` : ` at ${merchant}`;
  const room = MAX_SCREEN - 4;
  const candidates = [
    `${verb}${where}\n${pays}\n${fx.rate}\nEnter PIN to approve:\n0 Back`,
    `${verb}\n${pays}\n${fx.rate}\nEnter PIN to approve:\n0 Back`,
    `${verb}\n${pays}\n${fx.rate}\nPIN:\n0 Back`,
  ];
  return candidates.find((c) => [...c].length <= room) ?? candidates.at(-1)!;
}

/** A screen with an optional notice above it, cut to fit: the notice gives way before the prompt. */
function screen(s: Screen, notice?: string): string {
  const body = prompt(s);
  if (!notice) return reply('CON', body);
  const room = MAX_SCREEN - 4 - [...body].length - 1;
  return room >= 8 ? reply('CON', `${clip(notice, room)}\n${body}`) : reply('CON', body);
}

export function createUssdMenu(deps: UssdDeps) {
  const { q, core, customers, now } = deps;
  const finish = (reply: string, sessionId: string) =>
    q.run`UPDATE ussd_sessions SET reply = ${reply} WHERE session_id = ${sessionId}`;

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
  async function once(req: UssdRequest, action: () => Promise<string>): Promise<string> {
    // Gateways retry within seconds and close sessions within minutes: a day of sessions is plenty.
    await q.run`DELETE FROM ussd_sessions WHERE created_at < ${now() - SESSION_MEMORY_MS}`;
    const claimed = await q.run`INSERT INTO ussd_sessions (session_id, phone, created_at)
      VALUES (${req.sessionId}, ${req.phoneNumber}, ${now()}) ON CONFLICT DO NOTHING`;
    if (claimed !== 1) return (await earlier(req)) ?? BUSY_SESSION;
    let text: string;
    try {
      text = await action();
    } catch (e) {
      await finish(say(e), req.sessionId); // not a SemopsError (those are answers): outcome unknown
      throw e;
    }
    await finish(text, req.sessionId);
    return text;
  }

  /** The answer of a session that already reached its final action, if it did. */
  async function earlier(req: UssdRequest): Promise<string | undefined> {
    const r = await q.one<{ phone: string; reply: string | null }>`SELECT phone, reply FROM ussd_sessions
      WHERE session_id = ${req.sessionId}`;
    if (!r) return undefined;
    if (r.phone !== req.phoneNumber) return 'Session error. Please dial again.';
    return r.reply ?? BUSY_SESSION;
  }

  /** PIN screens are refused at once when the PIN is locked: no point asking for it. */
  function toPin(c: Customer, next: Screen): Step {
    return c.pinLocked ? { end: say(new SemopsError('PIN_LOCKED')) } : { screen: next };
  }

  async function step(c: Customer, s: Screen, x: string, last: boolean, req: UssdRequest): Promise<Step> {
    if (s.at !== 'main' && x === '0') return { screen: { at: 'main' } };
    switch (s.at) {
      case 'main':
        switch (x) {
          case '1':
            return { screen: { at: 'send.phone' } };
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
            return { screen: s, notice: 'Invalid choice.' };
        }
      case 'send.phone':
        return normalizePhone(x)
          ? { screen: { at: 'send.amount' } }
          : { screen: s, notice: 'Not a phone number.' };
      case 'send.amount':
        if (!validAmount(x, c.currency)) return { screen: s, notice: say(new SemopsError('AMOUNT_INVALID')) };
        return {
          end: 'Sending money to a phone number is not available yet; it comes with person-to-person payments. Nothing was sent.',
        };
      case 'pay.code': {
        let quote: Quote;
        try {
          quote = await core.quote(c, x);
        } catch (e) {
          const retry =
            e instanceof SemopsError && (e.code === 'CODE_INVALID' || e.code === 'REQUEST_NOT_FOUND');
          return retry ? { screen: s, notice: say(e) } : { end: say(e) };
        }
        if (quote.amount === undefined) return { screen: { at: 'pay.amount', kind: s.kind, quote } };
        return toPin(c, { at: 'pay.pin', kind: s.kind, quote, amount: quote.amount });
      }
      case 'pay.amount':
        try {
          const amount = core.amountFor(s.quote, x);
          return toPin(c, { at: 'pay.pin', kind: s.kind, quote: s.quote, amount });
        } catch (e) {
          return { screen: s, notice: say(e) };
        }
      case 'pay.pin': {
        if (!PIN.test(x)) return { screen: s, notice: say(new SemopsError('PIN_FORMAT')) };
        const converts = s.quote.currency !== c.currency;
        // A PIN followed by more input: for a conversion, it was answered with a new quote (below).
        if (!last) {
          return converts
            ? { screen: s, notice: RATE_EXPIRED }
            : { end: 'This session has ended. Please dial again.' };
        }
        // Pay at exactly the quote this session showed, and never at one that no longer holds: show the new
        // one and ask again (nothing acted yet). No quote shown yet: show one first.
        const shown = converts ? await shownQuote(req) : undefined;
        if (converts && !(await core.quoteHolds(c, s.quote, s.amount, shown))) {
          return shown === undefined ? { screen: s } : { screen: s, notice: RATE_EXPIRED };
        }
        return {
          end: await once(req, async () => {
            const o = await core.pay(c, s.quote, s.amount, x, 'ussd', shown);
            if (o.status !== 'COMPLETED' || s.kind === 'pay') return o.text;
            const money = showMoney(s.amount, s.quote.currency);
            return `Withdrawal of ${money} at ${s.quote.merchant} approved. Receipt ${o.receiptId ?? '-'}. Collect your cash.`;
          }),
        };
      }
      case 'block':
        if (x !== '1') return { screen: s, notice: 'Invalid choice.' };
        if (!last) return { end: 'This session has ended. Please dial again.' };
        return { end: await once(req, () => core.block(c, 'ussd')) };
      case 'pin.old':
        return PIN.test(x)
          ? { screen: { at: 'pin.new', old: x } }
          : { screen: s, notice: say(new SemopsError('PIN_FORMAT')) };
      case 'pin.new':
        return PIN.test(x)
          ? { screen: { at: 'pin.repeat', old: s.old, next: x } }
          : { screen: s, notice: say(new SemopsError('PIN_FORMAT')) };
      case 'pin.repeat': {
        if (x !== s.next) return { end: 'The new PINs do not match. Your PIN was not changed.' };
        if (!last) return { end: 'This session has ended. Please dial again.' };
        return {
          end: await once(req, async () => {
            try {
              await customers.changePin(c.id, s.old, s.next);
              return 'Your PIN was changed.';
            } catch (e) {
              if (!(e instanceof SemopsError)) throw e;
              return `${say(e)} Your PIN was not changed.`;
            }
          }),
        };
      }
    }
  }

  return {
    /** Answers one USSD request with `CON …` or `END …`. */
    async handle(req: UssdRequest): Promise<string> {
      let c: Customer;
      try {
        c = await core.customerByPhone(req.phoneNumber);
      } catch (e) {
        return reply('END', say(e));
      }
      // A retry of a finished session gets its answer without replaying it (the request may be paid now).
      const done = await earlier(req);
      if (done !== undefined) return reply('END', done);
      const inputs = req.text === '' ? [] : req.text.split('*').map((x) => x.trim());
      if (inputs.length > MAX_INPUTS) return reply('END', 'This session is too long. Please dial again.');
      let s: Screen = { at: 'main' };
      let notice: string | undefined;
      for (let i = 0; i < inputs.length; i++) {
        const r = await step(c, s, inputs[i]!, i === inputs.length - 1, req);
        if ('end' in r) return reply('END', r.end);
        s = r.screen;
        notice = r.notice;
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
          return reply('END', say(e));
        }
      }
      return screen(s, notice);
    },
  };
}

/** A positive amount in major units for the currency. */
function validAmount(text: string, currency: string): boolean {
  try {
    return parseAmount(text, currency) > 0n;
  } catch {
    return false;
  }
}

export type UssdMenu = ReturnType<typeof createUssdMenu>;
