/**
 * The operator commands' arguments (issue 5): what a person types, checked and turned into a typed command
 * before anything is sent. Bad input throws a UsageError: one line, exit code 2. Amounts are typed in major
 * units (`1000.00 EUR`) and become minor-unit strings, never JS numbers.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  currencyInfo,
  MAX_KEY_OVERLAP_MS,
  idPattern,
  keyId,
  parseAmount,
  parseRate,
  processorId as processorIdSchema,
  type MoneyWire,
} from '@semops/protocol';
import type { FeeEntry, FxConfigChange } from './clients-settlement.js';

/** Bad input: the command prints the message and exits with code 2, having sent nothing. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const OPERATOR_COMMANDS = [
  'rates',
  'fx-config',
  'fees',
  'windows',
  'report',
  'liquidity',
  'reconcile',
  'customers',
  'audit',
  'keys',
] as const;
export type OperatorCommandName = (typeof OPERATOR_COMMANDS)[number];

export function isOperatorCommand(name: string | undefined): name is OperatorCommandName {
  return (OPERATOR_COMMANDS as readonly string[]).includes(name ?? '');
}

export const OPERATOR_HELP = `Operator (cross-border settlement; against the running demo, --dir DIR, --json for machine output):
  rates [PROCESSOR]                     exchange rates, spread, fees and quote validity of processors
  rates set PROCESSOR BASE/QUOTE RATE   set one rate (1 BASE = RATE QUOTE), e.g. rates set bank-c EUR/HUF 392.45
  rates reload PROCESSOR                re-read the processor's rates file
  fx-config PROCESSOR [--spread-bps N] [--fee "100.00 HUF"]… [--quote-ttl-ms N]
                                        change a processor's spread, fixed fee per currency, quote validity
  fees                                  the hub's fee schedule
  fees set [--payee ID] [--currency CUR] --msc-bps N --interchange-bps N [--msc-fixed 0.10]
                                        add or replace one entry (payee and currency default to *, any)
  fees clear [--payee ID] [--currency CUR] | fees clear --all
                                        remove one entry, or every entry
  windows                               settlement windows
  windows close [WINDOW]                close the open window; prints its report
  report [WINDOW] [--csv]               settlement report (default: the last closed window)
  liquidity                             liquidity and positions per processor and currency
  liquidity deposit|withdraw PROCESSOR AMOUNT CURRENCY
                                        top up or withdraw liquidity, e.g. liquidity deposit bank-c 1000.00 EUR
  reconcile [WINDOW]                    compare the hub's window with every processor's ledger;
                                        exit 1 when there is any difference
  audit verify                          check every node's hash-chained audit log; exit 1 on any edit or gap
  keys [NODE]                           signing keys of the hub and processors: current, next, earlier ones
  keys rotate NODE [--overlap 15m]      NODE (hub or a processor) signs with its next key from now on; the
                                        replaced key stays accepted for the overlap (0 to 7d; default 15m)
  keys retire NODE [KID]                refuse the replaced key now (before its overlap ends)
Customer care (at a processor; CUSTOMER is a customer id cus_… or a phone number +43…):
  customers show PROCESSOR CUSTOMER     the customer, status, PIN lock and balance
  customers block PROCESSOR CUSTOMER    lost phone: block every channel (devices, SMS, USSD, mandates)
  customers unblock PROCESSOR CUSTOMER  lift a block after checking the customer's identity
  customers unlock PROCESSOR CUSTOMER   unlock a PIN locked after wrong tries
  customers reset-pin PROCESSOR CUSTOMER
                                        after an identity check: clear the PIN and print an activation code
                                        with which the customer's next phone sets a new PIN
`;

export type OperatorCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'rates'; readonly processor?: string }
  | {
      readonly kind: 'rates-set';
      readonly processor: string;
      readonly base: string;
      readonly quote: string;
      readonly rate: string;
    }
  | { readonly kind: 'rates-reload'; readonly processor: string }
  | { readonly kind: 'fx-config'; readonly processor: string; readonly change?: FxConfigChange }
  | { readonly kind: 'fees' }
  | { readonly kind: 'fees-set'; readonly entry: FeeEntry }
  /** `match` absent: clear every entry. */
  | { readonly kind: 'fees-clear'; readonly match?: { readonly payee: string; readonly currency: string } }
  | { readonly kind: 'windows' }
  | { readonly kind: 'windows-close'; readonly windowId?: string }
  | { readonly kind: 'report'; readonly windowId?: string; readonly csv: boolean }
  | { readonly kind: 'liquidity' }
  | {
      readonly kind: 'liquidity-change';
      readonly processor: string;
      readonly direction: 'deposit' | 'withdraw';
      readonly amount: MoneyWire;
    }
  | { readonly kind: 'reconcile'; readonly windowId?: string }
  | { readonly kind: 'audit-verify' }
  | { readonly kind: 'keys'; readonly node?: string }
  | { readonly kind: 'keys-rotate'; readonly node: string; readonly overlapMs?: number }
  | { readonly kind: 'keys-retire'; readonly node: string; readonly kid?: string }
  | {
      readonly kind: 'customers';
      readonly action: CustomerAction;
      readonly processor: string;
      /** A customer id (cus_…) or a phone number in E.164 form. */
      readonly customer: string;
    };

export const CUSTOMER_ACTIONS = ['show', 'block', 'unblock', 'unlock', 'reset-pin'] as const;
export type CustomerAction = (typeof CUSTOMER_ACTIONS)[number];

export interface ParsedOperatorArgs {
  readonly command: OperatorCommand;
  /** The demo directory (--dir, else SEMOPS_DIR, else .semops). */
  readonly dir: string;
  readonly json: boolean;
}

function currency(text: string, what = 'currency'): string {
  const c = text.trim().toUpperCase();
  if (!currencyInfo(c))
    throw new UsageError(`${what} ${JSON.stringify(text)} is not a currency SEMOPS knows`);
  return c;
}

/**
 * Parses an amount a person typed, in major units with its currency: `'1000.00 EUR'`, `'1000 EUR'`,
 * `'EUR 1000.00'`, or the words `['1000.00', 'EUR']` as separate arguments.
 * @example parseMoneyArg('12.50 EUR') // { value: '1250', currency: 'EUR' }
 * Refuses zero unless `allowZero`, signs, too many decimals for the currency, and anything else.
 */
export function parseMoneyArg(
  words: string | readonly string[],
  opts: { allowZero?: boolean } = {},
): MoneyWire {
  const text = (typeof words === 'string' ? words : words.join(' ')).trim();
  const m =
    /^(?<cur>[A-Za-z]{3})\s*(?<amount>\S+)$/.exec(text) ??
    /^(?<amount>\S+?)\s*(?<cur>[A-Za-z]{3})$/.exec(text);
  if (!m?.groups) {
    throw new UsageError(
      `give an amount and its currency, such as "1000.00 EUR"; got ${JSON.stringify(text)}`,
    );
  }
  const cur = currency(m.groups.cur ?? '');
  let value: bigint;
  try {
    value = parseAmount(m.groups.amount ?? '', cur);
  } catch (e) {
    throw new UsageError(
      `${JSON.stringify(text)} is not an amount of ${cur} (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  if (value === 0n && !opts.allowZero) throw new UsageError(`the amount must be more than zero: ${text}`);
  return { value: value.toString(), currency: cur };
}

/** A whole number of basis points, 0..`max` (10000 = 100 %). */
export function parseBps(option: string, text: string, max = 10_000): number {
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) > max) {
    throw new UsageError(`${option} takes whole basis points from 0 to ${max} (100 = 1 %); got ${text}`);
  }
  return Number(text);
}

/** How long a processor's FX quote holds: what the processors accept. */
const QUOTE_TTL_MS = { min: 100, max: 3_600_000 } as const;

function quoteTtl(option: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < QUOTE_TTL_MS.min || n > QUOTE_TTL_MS.max) {
    throw new UsageError(
      `${option} takes whole milliseconds from ${QUOTE_TTL_MS.min} to ${QUOTE_TTL_MS.max}; got ${text}`,
    );
  }
  return n;
}

function processorArg(text: string | undefined, usage: string): string {
  if (text === undefined) throw new UsageError(`usage: semops ${usage}`);
  if (!processorIdSchema.safeParse(text).success) {
    throw new UsageError(`${JSON.stringify(text)} is not a processor id such as bank-a`);
  }
  return text;
}

function windowArg(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!idPattern('win').test(text)) {
    throw new UsageError(
      `${JSON.stringify(text)} is not a settlement window id (win_…); 'semops windows' lists them`,
    );
  }
  return text;
}

function noMore(rest: readonly string[], usage: string): void {
  if (rest.length > 0)
    throw new UsageError(`unexpected ${JSON.stringify(rest.join(' '))}; usage: semops ${usage}`);
}

/** Each command's options besides --dir and --json. */
const OPTIONS = {
  rates: {},
  'fx-config': {
    'spread-bps': { type: 'string' },
    fee: { type: 'string', multiple: true },
    'quote-ttl-ms': { type: 'string' },
  },
  fees: {
    payee: { type: 'string' },
    currency: { type: 'string' },
    'msc-bps': { type: 'string' },
    'interchange-bps': { type: 'string' },
    'msc-fixed': { type: 'string' },
    all: { type: 'boolean' },
  },
  windows: {},
  report: { csv: { type: 'boolean' } },
  liquidity: {},
  reconcile: {},
  customers: {},
  audit: {},
  keys: { overlap: { type: 'string' } },
} as const;

interface Values {
  dir?: string;
  help?: boolean;
  json?: boolean;
  'spread-bps'?: string;
  fee?: string[];
  'quote-ttl-ms'?: string;
  payee?: string;
  currency?: string;
  'msc-bps'?: string;
  'interchange-bps'?: string;
  'msc-fixed'?: string;
  all?: boolean;
  csv?: boolean;
  overlap?: string;
}

/** Refuses options the subcommand does not take (each command declares the options of all its forms). */
function only(values: Values, allowed: ReadonlyArray<keyof Values>, usage: string): void {
  const extra = Object.keys(values).filter(
    (k) => k !== 'dir' && k !== 'json' && k !== 'help' && !(allowed as readonly string[]).includes(k),
  );
  if (extra.length > 0)
    throw new UsageError(`--${extra[0]} does not go with this command; usage: semops ${usage}`);
}

/**
 * Parses the arguments after the command name.
 * @example parseOperatorArgs('liquidity', ['deposit', 'bank-c', '1000.00', 'EUR'])
 *   // { command: { kind: 'liquidity-change', processor: 'bank-c', direction: 'deposit',
 *   //              amount: { value: '100000', currency: 'EUR' } }, dir: '/…/.semops', json: false }
 */
export function parseOperatorArgs(
  name: OperatorCommandName,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedOperatorArgs {
  const negative = args.find((a) => /^-\d/.test(a));
  if (negative !== undefined) {
    throw new UsageError(
      `${negative}: amounts, rates and basis points are never negative${name === 'liquidity' ? ' (to take liquidity out, use liquidity withdraw)' : ''}`,
    );
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        dir: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...OPTIONS[name],
      },
    }) as { values: Values; positionals: string[] };
  } catch (e) {
    throw new UsageError(
      (e instanceof Error ? e.message : String(e)).split('. To specify')[0] ?? 'bad arguments',
    );
  }
  const { values: v, positionals: pos } = parsed;
  if (v.help) return { command: { kind: 'help' }, dir: '', json: false };
  const dir = resolve(v.dir ?? env.SEMOPS_DIR ?? '.semops');
  const command = parseCommand(name, v, pos);
  if (v.json && command.kind === 'report' && command.csv) throw new UsageError('use either --csv or --json');
  return { command, dir, json: v.json ?? false };
}

function parseCommand(name: OperatorCommandName, v: Values, pos: readonly string[]): OperatorCommand {
  const [first, ...rest] = pos;
  switch (name) {
    case 'rates': {
      if (first === 'set') {
        const usage = 'rates set PROCESSOR BASE/QUOTE RATE';
        const [pid, pair, rate, ...more] = rest;
        const processor = processorArg(pid, usage);
        if (pair === undefined || rate === undefined) throw new UsageError(`usage: semops ${usage}`);
        noMore(more, usage);
        const m = /^([A-Za-z]{3})\/([A-Za-z]{3})$/.exec(pair);
        if (!m) throw new UsageError(`give the pair as BASE/QUOTE, such as EUR/HUF; got ${pair}`);
        const base = currency(m[1] ?? '');
        const quote = currency(m[2] ?? '');
        if (base === quote) throw new UsageError(`a rate converts between two currencies; got ${pair}`);
        try {
          parseRate(rate);
        } catch {
          throw new UsageError(
            `the rate is a positive decimal number such as 392.45 (1 ${base} = RATE ${quote}); got ${rate}`,
          );
        }
        return { kind: 'rates-set', processor, base, quote, rate: rate.trim() };
      }
      if (first === 'reload') {
        const [pid, ...more] = rest;
        noMore(more, 'rates reload PROCESSOR');
        return { kind: 'rates-reload', processor: processorArg(pid, 'rates reload PROCESSOR') };
      }
      noMore(rest, 'rates [PROCESSOR]');
      return first === undefined
        ? { kind: 'rates' }
        : { kind: 'rates', processor: processorArg(first, 'rates') };
    }
    case 'fx-config': {
      const usage = 'fx-config PROCESSOR [--spread-bps N] [--fee "100.00 HUF"]… [--quote-ttl-ms N]';
      const processor = processorArg(first, usage);
      noMore(rest, usage);
      const change: FxConfigChange = {
        ...(v['spread-bps'] === undefined
          ? {}
          : { spreadBps: parseBps('--spread-bps', v['spread-bps'], 9_999) }),
        ...(v.fee === undefined ? {} : { feeFixed: parseFees(v.fee) }),
        ...(v['quote-ttl-ms'] === undefined
          ? {}
          : { quoteTtlMs: quoteTtl('--quote-ttl-ms', v['quote-ttl-ms']) }),
      };
      return Object.keys(change).length === 0
        ? { kind: 'fx-config', processor }
        : { kind: 'fx-config', processor, change };
    }
    case 'fees': {
      if (first === 'set') {
        const usage =
          'fees set [--payee ID] [--currency CUR] --msc-bps N --interchange-bps N [--msc-fixed AMOUNT]';
        noMore(rest, usage);
        only(v, ['payee', 'currency', 'msc-bps', 'interchange-bps', 'msc-fixed'], usage);
        const payee = payeeArg(v.payee);
        const cur = v.currency === undefined || v.currency === '*' ? '*' : currency(v.currency, '--currency');
        if (v['msc-bps'] === undefined || v['interchange-bps'] === undefined) {
          throw new UsageError(`give --msc-bps and --interchange-bps; usage: semops ${usage}`);
        }
        return {
          kind: 'fees-set',
          entry: {
            payee,
            currency: cur,
            mscBps: parseBps('--msc-bps', v['msc-bps']),
            mscFixed: mscFixed(v['msc-fixed'], cur),
            interchangeBps: parseBps('--interchange-bps', v['interchange-bps']),
          },
        };
      }
      if (first === 'clear') {
        const usage = 'fees clear [--payee ID] [--currency CUR] | fees clear --all';
        noMore(rest, usage);
        only(v, ['payee', 'currency', 'all'], usage);
        if (v.all) {
          if (v.payee !== undefined || v.currency !== undefined) {
            throw new UsageError('--all clears every entry: leave out --payee and --currency');
          }
          return { kind: 'fees-clear' };
        }
        const cur = v.currency === undefined || v.currency === '*' ? '*' : currency(v.currency, '--currency');
        return { kind: 'fees-clear', match: { payee: payeeArg(v.payee), currency: cur } };
      }
      if (first !== undefined)
        throw new UsageError(`unknown fees command ${first}: use fees, fees set or fees clear`);
      only(v, [], 'fees');
      return { kind: 'fees' };
    }
    case 'windows': {
      if (first === 'close') {
        const [w, ...more] = rest;
        noMore(more, 'windows close [WINDOW]');
        const windowId = windowArg(w);
        return windowId === undefined ? { kind: 'windows-close' } : { kind: 'windows-close', windowId };
      }
      if (first !== undefined)
        throw new UsageError(`unknown windows command ${first}: use windows or windows close`);
      return { kind: 'windows' };
    }
    case 'report': {
      noMore(rest, 'report [WINDOW] [--csv]');
      const windowId = windowArg(first);
      return { kind: 'report', csv: v.csv ?? false, ...(windowId === undefined ? {} : { windowId }) };
    }
    case 'liquidity': {
      if (first === 'deposit' || first === 'withdraw') {
        const usage = `liquidity ${first} PROCESSOR AMOUNT CURRENCY`;
        const [pid, ...amount] = rest;
        const processor = processorArg(pid, usage);
        if (amount.length === 0) throw new UsageError(`usage: semops ${usage}`);
        return { kind: 'liquidity-change', processor, direction: first, amount: parseMoneyArg(amount) };
      }
      if (first !== undefined) {
        throw new UsageError(
          `unknown liquidity command ${first}: use liquidity, liquidity deposit or liquidity withdraw`,
        );
      }
      return { kind: 'liquidity' };
    }
    case 'reconcile': {
      noMore(rest, 'reconcile [WINDOW]');
      const windowId = windowArg(first);
      return windowId === undefined ? { kind: 'reconcile' } : { kind: 'reconcile', windowId };
    }
    case 'audit': {
      if (first !== 'verify') throw new UsageError('usage: semops audit verify');
      noMore(rest, 'audit verify');
      return { kind: 'audit-verify' };
    }
    case 'keys': {
      if (first === 'rotate') {
        const usage = 'keys rotate NODE [--overlap 15m]';
        const [node, ...more] = rest;
        noMore(more, usage);
        only(v, ['overlap'], usage);
        const overlapMs = v.overlap === undefined ? undefined : parseOverlap(v.overlap);
        return {
          kind: 'keys-rotate',
          node: processorArg(node, usage),
          ...(overlapMs === undefined ? {} : { overlapMs }),
        };
      }
      if (first === 'retire') {
        const usage = 'keys retire NODE [KID]';
        const [node, kid, ...more] = rest;
        noMore(more, usage);
        only(v, [], usage);
        if (kid !== undefined && !keyId.safeParse(kid).success) {
          throw new UsageError(
            `${JSON.stringify(kid)} is not a key id <node>#<thumbprint>; 'semops keys' lists them`,
          );
        }
        return {
          kind: 'keys-retire',
          node: processorArg(node, usage),
          ...(kid === undefined ? {} : { kid }),
        };
      }
      noMore(rest, 'keys [NODE]');
      only(v, [], 'keys [NODE]');
      return first === undefined
        ? { kind: 'keys' }
        : { kind: 'keys', node: processorArg(first, 'keys [NODE]') };
    }
    case 'customers': {
      const usage = `customers ${CUSTOMER_ACTIONS.join('|')} PROCESSOR CUSTOMER`;
      if (!(CUSTOMER_ACTIONS as readonly string[]).includes(first ?? '')) {
        throw new UsageError(`usage: semops ${usage}`);
      }
      const [pid, who, ...more] = rest;
      const processor = processorArg(pid, usage);
      noMore(more, usage);
      if (who === undefined || !(idPattern('cus').test(who) || /^\+[1-9]\d{6,14}$/.test(who))) {
        throw new UsageError(
          `give the customer as a customer id (cus_…) or a phone number such as +436641000001; usage: semops ${usage}`,
        );
      }
      return { kind: 'customers', action: first as CustomerAction, processor, customer: who };
    }
    default: {
      const never: never = name;
      throw new UsageError(`unknown command ${String(never)}`);
    }
  }
}

/** `--overlap`: `0`, `90s`, `15m`, `1h`, `1d` … up to 7 days. */
function parseOverlap(text: string): number {
  const m = /^(\d{1,6})(ms|s|m|h|d)?$/.exec(text.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const ms = m ? Number(m[1]) * unit[(m[2] ?? 'ms') as keyof typeof unit] : NaN;
  if (!m || (m[1] !== '0' && m[2] === undefined) || !(ms >= 0 && ms <= MAX_KEY_OVERLAP_MS)) {
    throw new UsageError(`--overlap takes a duration such as 90s, 15m, 1h or 0 (at most 7d); got ${text}`);
  }
  return ms;
}

function payeeArg(text: string | undefined): string {
  if (text === undefined || text === '*') return '*';
  return processorArg(text, 'fees set --payee ID');
}

/** `--fee "100.00 HUF"` (repeatable): fixed FX fee per customer currency, minor units. */
function parseFees(fees: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fees) {
    const m = parseMoneyArg(f, { allowZero: true });
    if (m.currency in out) throw new UsageError(`--fee given twice for ${m.currency}`);
    out[m.currency] = m.value;
  }
  return out;
}

/** `--msc-fixed 0.10` (in --currency) or `--msc-fixed "0.10 EUR"`; default 0. */
function mscFixed(text: string | undefined, cur: string): string {
  if (text === undefined) return '0';
  if (/^\s*0+(\.0*)?\s*$/.test(text)) return '0';
  if (cur === '*') {
    throw new UsageError(
      'a fixed merchant service charge needs --currency (it is an amount in that currency)',
    );
  }
  const m = /[A-Za-z]/.test(text)
    ? parseMoneyArg(text, { allowZero: true })
    : parseMoneyArg([text, cur], { allowZero: true });
  if (m.currency !== cur) throw new UsageError(`--msc-fixed is in ${m.currency} but --currency is ${cur}`);
  return m.value;
}
