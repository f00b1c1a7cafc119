/**
 * The SMS command language, as a customer types it on a feature phone: case does not matter, words are
 * separated by any blanks, a payment code may be typed in groups (`PAY 202 000 0171 5.50`).
 *
 *   PAY <code> [amount]     pay a merchant (amount only when the merchant lets the payer choose)
 *   SEND <to> <amount>      send money to a phone number (digits may come in groups) or name@processor
 *   BILL <biller> <account> <amount>   pay a bill by biller code and account number
 *   AIRTIME [phone] <amount>           buy airtime for this phone or another
 *   INBOX                   the requests for money waiting to be paid, numbered
 *   ACCEPT <n> / DECLINE <n>           pay or decline request n of the inbox
 *   BAL                     balance
 *   MINI                    the last five movements
 *   BLOCK                   block the account on every channel (lost phone)
 *   CHANGEPIN               how to change the PIN (by USSD: a PIN never travels in a text with another)
 *   HELP                    the commands
 *   <4 to 6 digits>         the PIN confirming the PAY before it (never together with a command)
 */
import { ADDRESS_RE } from '../../p2p/service.js';
import { ACCOUNT_RE } from '../../bills/service.js';
import { normalizePhone } from '../gateway.js';

export type SmsCommand =
  | { readonly kind: 'PAY'; readonly code: string; readonly amount?: string }
  /** `to`: a phone number in E.164 form, or a `name@processor` address in lower case. */
  | { readonly kind: 'SEND'; readonly to: string; readonly amount: string }
  | { readonly kind: 'BILL'; readonly code: string; readonly account: string; readonly amount: string }
  /** `phone` absent: airtime for the sender's own phone. */
  | { readonly kind: 'AIRTIME'; readonly phone?: string; readonly amount: string }
  | { readonly kind: 'INBOX' }
  | { readonly kind: 'ACCEPT' | 'DECLINE'; readonly n: number }
  | { readonly kind: 'CHANGEPIN' }
  | { readonly kind: 'BAL' }
  | { readonly kind: 'MINI' }
  | { readonly kind: 'HELP' }
  | { readonly kind: 'BLOCK' }
  | { readonly kind: 'PIN'; readonly pin: string }
  /** A known command with arguments that do not fit it. */
  | { readonly kind: 'USAGE'; readonly verb: UsageVerb }
  | { readonly kind: 'UNKNOWN' };

/** The commands whose arguments can be wrong, each with its own usage reply. */
export type UsageVerb = 'PAY' | 'SEND' | 'BILL' | 'AIRTIME' | 'ACCEPT' | 'DECLINE';

const AMOUNT = /^\d{1,13}([.,]\d{1,3})?$/;
const PIN = /^(?:PIN\s*)?(\d{4,6})$/i;

/** Reads one inbound text. Never throws. */
export function parseSmsCommand(text: string): SmsCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const pin = PIN.exec(words.join(' '));
  if (pin?.[1]) return { kind: 'PIN', pin: pin[1] };
  const [verb0 = '', ...args] = words;
  switch (verb0.toUpperCase()) {
    case 'PAY':
      return pay(args);
    case 'SEND':
      return send(args);
    case 'BILL':
      return bill(args);
    case 'AIRTIME':
    case 'TOPUP':
      return airtime(args);
    case 'INBOX':
    case 'REQUESTS':
      return args.length === 0 ? { kind: 'INBOX' } : { kind: 'UNKNOWN' };
    case 'ACCEPT':
    case 'DECLINE': {
      const verb = verb0.toUpperCase() as 'ACCEPT' | 'DECLINE';
      return args.length === 1 && /^[1-9]$/.test(args[0]!)
        ? { kind: verb, n: Number(args[0]) }
        : { kind: 'USAGE', verb };
    }
    case 'CHANGEPIN':
    case 'NEWPIN':
      return { kind: 'CHANGEPIN' };
    case 'CHANGE':
    case 'PIN':
      return args[0]?.toUpperCase() === (verb0.toUpperCase() === 'PIN' ? 'CHANGE' : 'PIN')
        ? { kind: 'CHANGEPIN' }
        : { kind: 'UNKNOWN' };
    case 'BAL':
    case 'BALANCE':
      return args.length === 0 ? { kind: 'BAL' } : { kind: 'UNKNOWN' };
    case 'MINI':
    case 'STATEMENT':
      return args.length === 0 ? { kind: 'MINI' } : { kind: 'UNKNOWN' };
    case 'HELP':
    case '?':
      return { kind: 'HELP' };
    case 'BLOCK':
    case 'STOP':
      return args.length === 0 ? { kind: 'BLOCK' } : { kind: 'UNKNOWN' };
    default:
      return { kind: 'UNKNOWN' };
  }
}

/** `PAY <code> [amount]`, where a numeric code may come in groups of digits. */
function pay(args: readonly string[]): SmsCommand {
  if (args.length === 0 || args.length > 5) return { kind: 'USAGE', verb: 'PAY' };
  const groups = (xs: readonly string[]) => (xs.every((x) => /^\d+$/.test(x)) ? xs.join('') : undefined);
  if (args.length > 1) {
    const whole = groups(args);
    if (whole?.length === 10 && args.length > 2) return { kind: 'PAY', code: whole };
    const head = groups(args.slice(0, -1));
    const last = args.at(-1)!;
    if (head?.length === 10 && args.length > 2) {
      return AMOUNT.test(last) ? { kind: 'PAY', code: head, amount: last } : { kind: 'USAGE', verb: 'PAY' };
    }
    if (args.length > 2) return { kind: 'USAGE', verb: 'PAY' };
  }
  const [code, amount] = args as [string, string | undefined];
  if (code.length > 512) return { kind: 'USAGE', verb: 'PAY' };
  if (amount === undefined) return { kind: 'PAY', code };
  return AMOUNT.test(amount) ? { kind: 'PAY', code, amount } : { kind: 'USAGE', verb: 'PAY' };
}

/** `SEND <to> <amount>`: `to` a phone number (`+43 660 1234567` in groups too) or `name@processor`. */
function send(args: readonly string[]): SmsCommand {
  const amount = args.at(-1);
  const head = args.slice(0, -1);
  if (amount === undefined || head.length === 0 || head.length > 5 || !AMOUNT.test(amount)) {
    return { kind: 'USAGE', verb: 'SEND' };
  }
  const address = head.length === 1 ? head[0]!.toLowerCase() : undefined;
  if (address !== undefined && ADDRESS_RE.test(address)) return { kind: 'SEND', to: address, amount };
  const to = phoneIn(head);
  return to ? { kind: 'SEND', to, amount } : { kind: 'USAGE', verb: 'SEND' };
}

/** `BILL <biller code> <account> <amount>`. */
function bill(args: readonly string[]): SmsCommand {
  const [code, account, amount] = args;
  return args.length === 3 && /^\d{5,12}$/.test(code!) && ACCOUNT_RE.test(account!) && AMOUNT.test(amount!)
    ? { kind: 'BILL', code: code!, account: account!, amount: amount! }
    : { kind: 'USAGE', verb: 'BILL' };
}

/** `AIRTIME <amount>` for the sender's phone, or `AIRTIME <phone> <amount>` (the number in groups too). */
function airtime(args: readonly string[]): SmsCommand {
  const amount = args.at(-1);
  if (amount === undefined || args.length > 6 || !AMOUNT.test(amount))
    return { kind: 'USAGE', verb: 'AIRTIME' };
  if (args.length === 1) return { kind: 'AIRTIME', amount };
  const phone = phoneIn(args.slice(0, -1));
  return phone ? { kind: 'AIRTIME', phone, amount } : { kind: 'USAGE', verb: 'AIRTIME' };
}

/** A phone number typed as one word or in groups (`+43 660 1234567`), in E.164 form; undefined otherwise. */
function phoneIn(words: readonly string[]): string | undefined {
  const joined = words.join('');
  return joined.length <= 32 && /^\+?[\d().-]+$/.test(joined) ? normalizePhone(joined) : undefined;
}

/**
 * What is stored of an inbound text: a PIN reply becomes `****`, and any group of 4 to 6 digits in a text
 * that is not a command is masked too (a customer may type a PIN where it does not belong).
 */
export function storedText(text: string, cmd: SmsCommand): string {
  if (cmd.kind === 'PIN') return '****';
  const t = text.slice(0, 1600);
  if (cmd.kind === 'UNKNOWN' || cmd.kind === 'USAGE' || cmd.kind === 'CHANGEPIN') {
    return t.replace(/(?<!\d)\d{4,6}(?!\d)/g, '****');
  }
  return t;
}
