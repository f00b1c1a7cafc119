/**
 * The screens of the USSD menu and what they show: prompts, the notice a refused input puts above a screen,
 * and the steps an input leads to (another screen, or the end of the session with its text and code). Every
 * screen fits in 160 characters, `CON `/`END ` included; nothing the customer typed as a PIN is shown back.
 */
import { SemopsError, formatAmount, type ErrorCode } from '@semops/protocol';
import { ADDRESS_RE } from '../../p2p/service.js';
import type { FxQuoteView } from '../../fx/service.js';
import { rangeText, refusal, words, type Quote, type Said } from '../core.js';
import { normalizePhone } from '../gateway.js';
import type { OpenRequest } from '../payees.js';
import { MAX_SCREEN, clip, showMoney } from '../text.js';

/** Paying a merchant's request (a bill, airtime), an agent's till (cash out), or a person (send money). */
export type PayKind = 'pay' | 'withdraw' | 'send';

export type Screen =
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
  | { readonly at: 'more' }
  | { readonly at: 'bill.code' }
  | { readonly at: 'bill.account'; readonly code: string }
  | { readonly at: 'bill.amount'; readonly code: string; readonly account: string; readonly currency: string }
  | { readonly at: 'air.phone' }
  | { readonly at: 'air.amount'; readonly phone: string; readonly own: boolean; readonly currency: string }
  | { readonly at: 'inbox'; readonly items: readonly OpenRequest[] }
  | { readonly at: 'inbox.item'; readonly item: OpenRequest; readonly quote: Quote }
  | { readonly at: 'block' }
  | { readonly at: 'pin.old' }
  | { readonly at: 'pin.new'; readonly old: string }
  | { readonly at: 'pin.repeat'; readonly old: string; readonly next: string };

/** The end of a session: its text, and the code of the failure it reports. */
export type End = { readonly end: string; readonly code?: ErrorCode };

/**
 * Where an input leads: another screen (with a notice when the input was refused, and its code) or the end
 * (with the code of the failure it reports).
 */
export type Step = { readonly screen: Screen; readonly notice?: string; readonly code?: ErrorCode } | End;

export const PIN = /^\d{4,6}$/;
/** Shown above the PIN screen when the quote expired before the PIN came. */
export const RATE_EXPIRED = 'Rate expired. New quote:';

export const MAIN_MENU =
  'SEMOPS\n1 Send money\n2 Pay merchant\n3 Withdraw cash\n4 Balance\n5 Mini statement\n6 Change PIN\n' +
  '7 Block account\n8 Bills & airtime\n9 Pay requests';

/** The step that refuses an input with `e` on the same screen. */
export function refuse(s: Screen, e: unknown): Step {
  const r = refusal(e);
  return { screen: s, notice: r.text, ...(r.code ? { code: r.code } : {}) };
}

/** The step that ends the session with the failure `e`. */
export function endWith(e: unknown): End {
  const r = refusal(e);
  return { end: r.text, ...(r.code ? { code: r.code } : {}) };
}

/** The end of a session with what was said (a final action's outcome). */
export function ended(said: Said): End {
  return { end: said.text, ...(said.code ? { code: said.code } : {}) };
}

export function invalidChoice(s: Screen): Step {
  return refuse(s, new SemopsError('VALIDATION_FAILED', 'Invalid choice.'));
}

export function sessionEnded(): End {
  return { end: 'This session has ended. Please dial again.', code: 'VALIDATION_FAILED' };
}

/** `CON …` or `END …`, never longer than 160 characters. */
export function reply(kind: 'CON' | 'END', text: string): string {
  return clip(`${kind} ${text}`, MAX_SCREEN);
}

/** The USSD answer of a session's end. */
export function answer(r: End): Said {
  return { text: reply('END', r.end), ...(r.code ? { code: r.code } : {}) };
}

/** A screen with an optional notice above it, cut to fit: the notice gives way before the prompt. */
export function screen(s: Screen, notice?: string): string {
  const body = prompt(s);
  if (!notice) return reply('CON', body);
  const room = MAX_SCREEN - 4 - [...body].length - 1;
  return room >= 8 ? reply('CON', `${clip(notice, room)}\n${body}`) : reply('CON', body);
}

/** A phone number (E.164) or a `name@processor` address, as typed on the keypad; undefined when neither. */
export function personTarget(typed: string): string | undefined {
  const address = typed.toLowerCase();
  return ADDRESS_RE.test(address) ? address : normalizePhone(typed);
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
      if (s.fx) return fxPinPrompt(s.kind, s.quote, money, s.fx);
      return `${verbOf(s.kind, s.quote, money)}?\nEnter PIN to approve:\n0 Back`;
    }
    case 'more':
      return 'Bills & airtime\n1 Pay bill\n2 Buy airtime\n0 Back';
    case 'bill.code':
      return 'Pay bill\nEnter biller code:\n0 Back';
    case 'bill.account':
      return 'Enter account number:\n0 Back';
    case 'bill.amount':
      return `Enter amount (${s.currency}):\n0 Back`;
    case 'air.phone':
      return 'Buy airtime\n1 For this phone\nor enter a phone number with country code:\n0 Back';
    case 'air.amount':
      return `Airtime for ${s.own ? 'this phone' : s.phone}\nEnter amount (${s.currency}):\n0 Back`;
    case 'inbox': {
      const lines = s.items.map(
        (r, i) => `${i + 1} ${clip(r.from, 16)} ${formatAmount(r.amount, r.currency)} ${r.currency}`,
      );
      return ['Requests to pay', ...lines, '0 Back'].join('\n');
    }
    case 'inbox.item': {
      const money = showMoney(s.item.amount, s.item.currency);
      const note = s.item.note ? `: ${clip(s.item.note, 40)}` : '';
      return `${s.item.from} asks ${money}${note}\n1 Pay\n2 Decline\n0 Back`;
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
 * The PIN screen of a converted payment: the payee's amount, what the customer pays in their currency
 * (fee included), the rate. The payee's name gives way first when the screen is full.
 */
function fxPinPrompt(kind: PayKind, q: Quote, money: string, fx: FxQuoteView): string {
  const fee = BigInt(fx.fee.value) > 0n ? ` incl. fee ${showMoney(fx.fee.value, fx.fee.currency)}` : '';
  const pays = `= ${showMoney(fx.total.value, fx.total.currency)}${fee}`;
  const verb = verbOf(kind, q, money, false);
  const room = MAX_SCREEN - 4;
  const candidates = [
    `${verbOf(kind, q, money)}\n${pays}\n${fx.rate}\nEnter PIN to approve:\n0 Back`,
    `${verb}\n${pays}\n${fx.rate}\nEnter PIN to approve:\n0 Back`,
    `${verb}\n${pays}\n${fx.rate}\nPIN:\n0 Back`,
  ];
  return candidates.find((c) => [...c].length <= room) ?? candidates.at(-1)!;
}

/** `Pay 5.00 EUR to Cafe Central`, `Withdraw 20.00 EUR at Kiosk 12`, `Send 5.00 EUR to Ben O.` */
function verbOf(kind: PayKind, q: Quote, money: string, withPayee = true): string {
  if (kind === 'withdraw') return withPayee ? `Withdraw ${money} at ${q.merchant}` : `Withdraw ${money}`;
  const w = words(q);
  return withPayee ? w.ask(money) : w.short(money);
}
