/**
 * The operator commands: what a person types is checked before anything is sent (exit 2, one line), and
 * each command sends what the admin API of docs/settlement.md expects — against stand-ins for the hub and
 * the processors in a demo directory, through `operatorMain` exactly as `semops <command>` runs it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '@semops/protocol';
import type { FeeEntry, FxSettings, SettlementReport } from './clients-settlement.js';
import {
  UsageError,
  operatorMain,
  parseMoneyArg,
  parseOperatorArgs,
  type OperatorCommandName,
} from './operator.js';
import {
  errorReply,
  startStubNode,
  writeDemoDir,
  type StubNode,
  type StubRequest,
} from './testing/stub-node.js';

const parse = (name: OperatorCommandName, ...args: string[]) => parseOperatorArgs(name, args, {}).command;
const refused = (name: OperatorCommandName, ...args: string[]) => {
  try {
    parseOperatorArgs(name, args, {});
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${name} ${args.join(' ')}`);
};

describe('amounts typed by people', () => {
  it('reads major units with the currency before or after, exactly', () => {
    expect(parseMoneyArg('1000.00 EUR')).toEqual({ value: '100000', currency: 'EUR' });
    expect(parseMoneyArg(['1000', 'eur'])).toEqual({ value: '100000', currency: 'EUR' });
    expect(parseMoneyArg('HUF 5000.5')).toEqual({ value: '500050', currency: 'HUF' });
    expect(parseMoneyArg('0.001 BHD')).toEqual({ value: '1', currency: 'BHD' });
    expect(parseMoneyArg('9000000000000000.00 EUR')).toEqual({
      value: '900000000000000000',
      currency: 'EUR',
    });
    expect(parseMoneyArg('0 HUF', { allowZero: true })).toEqual({ value: '0', currency: 'HUF' });
  });

  it.each([
    ['10.001 EUR', 'EUR has 2 decimals'],
    ['5.5 ISK', 'ISK has 0 decimals'],
    ['-5 EUR', 'not an amount'],
    ['0 EUR', 'more than zero'],
    ['0.00 EUR', 'more than zero'],
    ['1e3 EUR', 'not an amount'],
    ['1,000.00 EUR', 'not an amount'],
    ['1000.00', 'give an amount and its currency'],
    ['EUR 10 EUR', 'give an amount and its currency'],
    ['10 XYZ', 'not a currency SEMOPS knows'],
    ['90000000000000000000 EUR', 'not an amount'],
  ])('refuses %j', (text, why) => {
    expect(() => parseMoneyArg(text)).toThrow(UsageError);
    expect(() => parseMoneyArg(text)).toThrow(why);
  });
});

describe('parsing the commands', () => {
  it('reads every form', () => {
    expect(parse('liquidity', 'deposit', 'bank-c', '1000.00', 'EUR')).toEqual({
      kind: 'liquidity-change',
      processor: 'bank-c',
      direction: 'deposit',
      amount: { value: '100000', currency: 'EUR' },
    });
    expect(parse('liquidity', 'withdraw', 'mno-b', '250 HUF')).toMatchObject({
      direction: 'withdraw',
      amount: { value: '25000', currency: 'HUF' },
    });
    expect(parse('rates', 'set', 'bank-c', 'eur/huf', '392.45')).toEqual({
      kind: 'rates-set',
      processor: 'bank-c',
      base: 'EUR',
      quote: 'HUF',
      rate: '392.45',
    });
    expect(parse('rates')).toEqual({ kind: 'rates' });
    expect(parse('rates', 'reload', 'bank-c')).toEqual({ kind: 'rates-reload', processor: 'bank-c' });
    expect(
      parse(
        'fx-config',
        'bank-c',
        '--spread-bps',
        '50',
        '--fee',
        '100.00 HUF',
        '--fee',
        'EUR 0',
        '--quote-ttl-ms',
        '30000',
      ),
    ).toEqual({
      kind: 'fx-config',
      processor: 'bank-c',
      change: { spreadBps: 50, feeFixed: { HUF: '10000', EUR: '0' }, quoteTtlMs: 30000 },
    });
    expect(parse('fx-config', 'bank-c')).toEqual({ kind: 'fx-config', processor: 'bank-c' });
    expect(
      parse(
        'fees',
        'set',
        '--payee',
        'mno-b',
        '--currency',
        'EUR',
        '--msc-bps',
        '100',
        '--interchange-bps',
        '2000',
      ),
    ).toEqual({
      kind: 'fees-set',
      entry: { payee: 'mno-b', currency: 'EUR', mscBps: 100, mscFixed: '0', interchangeBps: 2000 },
    });
    expect(
      parse(
        'fees',
        'set',
        '--currency',
        'HUF',
        '--msc-bps',
        '0',
        '--interchange-bps',
        '10000',
        '--msc-fixed',
        '12.34',
      ),
    ).toMatchObject({ entry: { payee: '*', currency: 'HUF', mscFixed: '1234', interchangeBps: 10000 } });
    expect(parse('fees', 'clear', '--payee', 'mno-b')).toEqual({
      kind: 'fees-clear',
      match: { payee: 'mno-b', currency: '*' },
    });
    expect(parse('fees', 'clear', '--all')).toEqual({ kind: 'fees-clear' });
    const w = newId('win');
    expect(parse('windows', 'close', w)).toEqual({ kind: 'windows-close', windowId: w });
    expect(parse('report', w, '--csv')).toEqual({ kind: 'report', windowId: w, csv: true });
    expect(parse('report')).toEqual({ kind: 'report', csv: false });
    expect(parse('reconcile')).toEqual({ kind: 'reconcile' });
    expect(parseOperatorArgs('fees', ['--dir', '/tmp/x', '--json'], {})).toEqual({
      command: { kind: 'fees' },
      dir: '/tmp/x',
      json: true,
    });
    expect(parseOperatorArgs('fees', [], { SEMOPS_DIR: '/tmp/y' }).dir).toBe('/tmp/y');
  });

  it.each<[OperatorCommandName, string[], string]>([
    ['rates', ['set', 'bank-c', 'EUR-HUF', '392.45'], 'BASE/QUOTE'],
    ['rates', ['set', 'bank-c', 'EUR/EUR', '1'], 'two currencies'],
    ['rates', ['set', 'bank-c', 'EUR/XYZ', '1'], 'not a currency'],
    ['rates', ['set', 'bank-c', 'EUR/HUF', '0'], 'positive decimal'],
    [
      'rates',
      ['set', 'bank-c', 'EUR/HUF', '-392.45'],
      '-392.45: amounts, rates and basis points are never negative',
    ],
    ['rates', ['set', 'bank-c', 'EUR/HUF', '3.9245e2'], 'positive decimal'],
    ['rates', ['set', 'bank-c', 'EUR/HUF'], 'usage: semops rates set'],
    ['rates', ['set', 'Bank C', 'EUR/HUF', '1'], 'not a processor id'],
    ['rates', ['reload'], 'usage: semops rates reload'],
    ['fx-config', ['bank-c', '--spread-bps', '10000'], 'from 0 to 9999'],
    ['fx-config', ['bank-c', '--spread-bps', '0.5'], 'from 0 to 9999'],
    ['fx-config', ['bank-c', '--fee', '100.00'], 'give an amount and its currency'],
    ['fx-config', ['bank-c', '--fee', '1 HUF', '--fee', '2 HUF'], 'twice'],
    ['fx-config', ['bank-c', '--quote-ttl-ms', '99'], 'from 100 to 3600000'],
    ['fx-config', ['bank-c', '--quote-ttl-ms', '3600001'], 'from 100 to 3600000'],
    ['fx-config', ['bank-c', '--quote-ttl-ms', '30s'], 'whole milliseconds'],
    ['fx-config', ['--spread-bps', '50'], 'usage: semops fx-config'],
    ['fees', ['set', '--msc-bps', '100'], 'give --msc-bps and --interchange-bps'],
    ['fees', ['set', '--msc-bps', '-1', '--interchange-bps', '0'], 'never negative'],
    ['fees', ['set', '--msc-bps', '1.5', '--interchange-bps', '0'], '--msc-bps takes whole basis points'],
    ['fees', ['set', '--msc-bps', '100', '--interchange-bps', '20000'], '0 to 10000'],
    ['fees', ['set', '--msc-bps', '1', '--interchange-bps', '1', '--msc-fixed', '0.10'], 'needs --currency'],
    [
      'fees',
      ['set', '--currency', 'EUR', '--msc-bps', '1', '--interchange-bps', '1', '--msc-fixed', '0.101'],
      'decimals',
    ],
    [
      'fees',
      ['set', '--currency', 'EUR', '--msc-bps', '1', '--interchange-bps', '1', '--msc-fixed', '0.10 HUF'],
      'is in HUF but --currency is EUR',
    ],
    ['fees', ['set', '--currency', 'EURO', '--msc-bps', '1', '--interchange-bps', '1'], 'not a currency'],
    ['fees', ['clear', '--all', '--payee', 'mno-b'], 'leave out --payee'],
    ['fees', ['--all'], 'does not go with this command'],
    ['fees', ['clear', '--msc-bps', '5'], 'does not go with this command'],
    ['fees', ['remove'], 'unknown fees command'],
    ['windows', ['close', 'W-2026-11-22-1'], 'not a settlement window id'],
    ['windows', ['open'], 'unknown windows command'],
    ['report', ['--csv', '--json'], 'either --csv or --json'],
    ['report', ['--pdf'], "Unknown option '--pdf'"],
    ['liquidity', ['deposit', 'bank-c'], 'usage: semops liquidity deposit'],
    ['liquidity', ['deposit', 'bank-c', '-1000', 'EUR'], 'use liquidity withdraw'],
    ['liquidity', ['lend', 'bank-c', '1 EUR'], 'unknown liquidity command'],
    ['reconcile', ['one', 'two'], 'unexpected'],
  ])('refuses %s %j', (name, args, why) => {
    expect(refused(name, ...args)).toContain(why);
  });
});

// ---------------------------------------------------------------------------------------------------------

const W_OLD = newId('win', 1_000);
const W_LAST = newId('win', 2_000);
const W_OPEN = newId('win', 3_000);
const REPORT: SettlementReport = {
  windowId: W_LAST,
  state: 'CLOSED',
  openedAt: Date.UTC(2026, 10, 22, 9),
  closedAt: Date.UTC(2026, 10, 22, 10),
  transfers: 2,
  currencies: [{ currency: 'EUR', transfers: 2, volume: '3000', interchange: '6', net: '0' }],
  positions: [
    ['bank-a', 'EUR', '2000', '0', '0', '4', '0', '-1996'],
    ['bank-c', 'EUR', '1000', '0', '0', '2', '0', '-998'],
    ['mno-b', 'EUR', '0', '3000', '6', '0', '30', '2994'],
  ].map(([processorId, currency, sent, received, interchangePaid, interchangeReceived, msc, net]) => ({
    processorId: processorId!,
    currency: currency!,
    sent: sent!,
    received: received!,
    interchangePaid: interchangePaid!,
    interchangeReceived: interchangeReceived!,
    msc: msc!,
    fxMargin: '0',
    fxFee: '0',
    transfers: 1,
    net: net!,
  })),
  instructions: [
    { currency: 'EUR', from: 'bank-a', to: 'mno-b', amount: '1996' },
    { currency: 'EUR', from: 'bank-c', to: 'mno-b', amount: '998' },
  ],
  fees: [
    {
      transferId: newId('pay'),
      payer: 'bank-c',
      payee: 'mno-b',
      amount: { value: '1000', currency: 'EUR' },
      msc: '10',
      interchange: '2',
      fxMargin: { value: '1963', currency: 'HUF' },
    },
  ],
};

let dir: string;
let hub: StubNode;
let bankC: StubNode;
let mnoB: StubNode;
let fees: FeeEntry[];
let fx: FxSettings;

const out: string[] = [];
const err: string[] = [];
async function semops(name: OperatorCommandName, ...args: string[]): Promise<number> {
  out.length = 0;
  err.length = 0;
  return operatorMain(name, [...args, '--dir', dir], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: {},
  });
}
const sent = () => [hub, bankC, mnoB].flatMap((n) => n.seen);
const writes = (n: StubNode): StubRequest[] => n.seen.filter((s) => s.method !== 'GET');

beforeAll(async () => {
  hub = await startStubNode('hub-secret', (r) => {
    if (r.path === '/v1/admin/fees' && r.method === 'GET') return { body: { entries: fees } };
    if (r.path === '/v1/admin/fees' && r.method === 'PUT') {
      fees = (r.body as { entries: FeeEntry[] }).entries;
      return { body: { entries: fees } };
    }
    if (r.path === '/v1/admin/settlement/windows') {
      return {
        body: {
          windows: [
            { windowId: W_OLD, state: 'CLOSED', openedAt: 0, closedAt: 1_000, transfers: 2 },
            { windowId: W_LAST, state: 'CLOSED', openedAt: 1_000, closedAt: 2_000, transfers: 3 },
            { windowId: W_OPEN, state: 'OPEN', openedAt: 2_000, transfers: 0 },
          ],
        },
      };
    }
    if (r.path === '/v1/admin/settlement/windows/close')
      return errorReply(409, 'WINDOW_EMPTY', 'nothing to close');
    if (r.path === `/v1/admin/settlement/windows/${W_LAST}/report`) {
      return r.query.get('format') === 'csv'
        ? { text: 'currency,processor,net\nEUR,bank-a,-1996\n' }
        : { body: REPORT };
    }
    if (r.path === '/v1/admin/liquidity') {
      return {
        body: {
          processorId: 'bank-c',
          currency: 'EUR',
          liquidity: '1100000',
          position: '0',
          reserved: '0',
          available: '1100000',
        },
      };
    }
    return undefined;
  });
  const fxHandler = (r: StubRequest) => {
    if (r.path === '/v1/admin/fx' && r.method === 'GET') return { body: fx };
    if (r.path === '/v1/admin/fx/rates' && r.method === 'PUT') {
      fx = {
        ...fx,
        rates: (r.body as { rates: FxSettings['rates'] }).rates.map((x) => ({ ...x, source: 'operator' })),
      };
      return { body: fx };
    }
    if (r.path === '/v1/admin/fx/config' && r.method === 'PUT') {
      fx = { ...fx, ...(r.body as object) };
      return { body: fx };
    }
    if (r.path === '/v1/admin/fx/reload') return errorReply(422, 'RATES_FILE_INVALID', 'line 3: not a rate');
    return undefined;
  };
  bankC = await startStubNode('bank-c-secret', fxHandler);
  mnoB = await startStubNode('mno-b-secret', fxHandler);
  dir = mkdtempSync(join(tmpdir(), 'semops-operator-'));
  writeDemoDir(dir, {
    hub: { url: hub.url, token: hub.token },
    'bank-c': { url: bankC.url, token: bankC.token },
    'mno-b': { url: mnoB.url, token: mnoB.token },
  });
});

afterAll(async () => {
  await Promise.all([hub, bankC, mnoB].map((n) => n.close()));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const n of [hub, bankC, mnoB]) n.seen.length = 0;
  fees = [
    { payee: '*', currency: '*', mscBps: 50, mscFixed: '0', interchangeBps: 1000 },
    { payee: 'mno-b', currency: 'EUR', mscBps: 80, mscFixed: '5', interchangeBps: 1500 },
  ];
  fx = {
    rates: [
      { base: 'HUF', quote: 'EUR', rate: '0.0025', source: 'file' },
      { base: 'EUR', quote: 'USD', rate: '1.08', source: 'file' },
    ],
    spreadBps: 50,
    feeFixed: { HUF: '10000' },
    quoteTtlMs: 30_000,
  };
});

describe('the commands against the network', () => {
  it('bad input: one line, exit 2, nothing sent', async () => {
    for (const [args, why] of [
      [['liquidity', 'deposit', 'bank-c', '10.001', 'EUR'], 'EUR has 2 decimals'],
      [['liquidity', 'deposit', 'bank-x', '10', 'EUR'], 'no processor bank-x in the network'],
      [['fees', 'set', '--payee', 'mno-x', '--msc-bps', '1', '--interchange-bps', '1'], 'no processor mno-x'],
      [['rates', 'set', 'bank-c', 'EUR/HUF', 'abc'], 'the rate is a positive decimal number'],
      [['fees', 'set', '--msc-bps', '1', '--interchange-bps', '1', '--bps', '2'], "Unknown option '--bps'"],
    ] as Array<[[OperatorCommandName, ...string[]], string]>) {
      expect(await semops(...args)).toBe(2);
      expect(err.join('')).toMatch(/^[^\n]+\n$/);
      expect(err.join('')).toContain(why);
    }
    expect(sent()).toEqual([]);
  });

  it('fees set replaces the entry for that payee and currency and keeps the others', async () => {
    const code = await semops(
      'fees',
      'set',
      '--payee',
      'mno-b',
      '--currency',
      'EUR',
      '--msc-bps',
      '100',
      '--interchange-bps',
      '2000',
      '--msc-fixed',
      '0.10',
    );
    expect(code).toBe(0);
    const puts = writes(hub);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.authorization).toBe('Bearer hub-secret');
    expect(puts[0]?.body).toEqual({
      entries: [
        { payee: '*', currency: '*', mscBps: 50, mscFixed: '0', interchangeBps: 1000 },
        { payee: 'mno-b', currency: 'EUR', mscBps: 100, mscFixed: '10', interchangeBps: 2000 },
      ],
    });
    expect(out.join('')).toMatch(/mno-b\s+EUR\s+100 bps \(1\.00 %\)\s+0\.10\s+2000 bps \(20\.00 %\)/);
  });

  it('fees clear removes one entry, or says there is none and changes nothing', async () => {
    expect(await semops('fees', 'clear', '--payee', 'mno-b', '--currency', 'EUR')).toBe(0);
    expect(fees).toEqual([{ payee: '*', currency: '*', mscBps: 50, mscFixed: '0', interchangeBps: 1000 }]);
    hub.seen.length = 0;
    expect(await semops('fees', 'clear', '--payee', 'mno-b')).toBe(1);
    expect(err.join('')).toContain('no entry for payee mno-b and currency *');
    expect(writes(hub)).toEqual([]);
    expect(await semops('fees', 'clear', '--all', '--json')).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual({ entries: [] });
  });

  it('rates set replaces the pair in either direction and keeps the other rates', async () => {
    expect(await semops('rates', 'set', 'bank-c', 'EUR/HUF', '392.45')).toBe(0);
    expect(writes(bankC).map((s) => s.body)).toEqual([
      {
        rates: [
          { base: 'EUR', quote: 'USD', rate: '1.08' },
          { base: 'EUR', quote: 'HUF', rate: '392.45' },
        ],
      },
    ]);
    expect(writes(mnoB)).toEqual([]);
    expect(out.join('')).toContain('1 EUR = 392.45 HUF');
  });

  it('fx-config changes one fee and keeps the fees of other currencies', async () => {
    expect(await semops('fx-config', 'bank-c', '--fee', '2.50 EUR', '--spread-bps', '40')).toBe(0);
    expect(writes(bankC).map((s) => s.body)).toEqual([
      { spreadBps: 40, feeFixed: { HUF: '10000', EUR: '250' } },
    ]);
    expect(out.join('')).toContain('spread 40 bps (0.40 %), fee 100.00 HUF, 2.50 EUR, quotes valid 30000 ms');
  });

  it('rates shows every processor; a refused reload prints the code and details', async () => {
    expect(await semops('rates')).toBe(0);
    expect(out.join('')).toMatch(/^bank-c: spread 50 bps/m);
    expect(out.join('')).toMatch(/^mno-b: spread 50 bps/m);
    expect(out.join('')).toMatch(/HUF\/EUR\s+0\.0025\s+file/);
    expect(await semops('rates', 'reload', 'bank-c')).toBe(1);
    expect(err.join('')).toBe('RATES_FILE_INVALID: line 3: not a rate\n');
  });

  it('liquidity deposit sends exact minor units', async () => {
    expect(await semops('liquidity', 'deposit', 'bank-c', '1000.00', 'EUR')).toBe(0);
    expect(writes(hub).map((s) => s.body)).toEqual([
      { processorId: 'bank-c', amount: { value: '100000', currency: 'EUR' }, direction: 'deposit' },
    ]);
    expect(out.join('')).toBe(
      'Deposited 1000.00 EUR for bank-c: liquidity 11000.00 EUR, available 11000.00 EUR\n',
    );
  });

  it('report defaults to the last closed window; --csv prints the CSV as it is', async () => {
    expect(await semops('report')).toBe(0);
    const text = out.join('');
    expect(text).toContain(
      `Settlement window ${W_LAST} (CLOSED): 2026-11-22T09:00:00Z → 2026-11-22T10:00:00Z, 2 transfers`,
    );
    expect(text).toMatch(/mno-b\s+0\.00\s+30\.00\s+0\.06\s+0\.00\s+0\.30\s+0\.00\s+0\.00\s+1\s+29\.94/);
    expect(text).toMatch(/sum\s+0\.00/);
    expect(text).toContain('bank-a pays 19.96 EUR to mno-b');
    expect(text).toMatch(/bank-c\s+mno-b\s+10\.00 EUR\s+0\.10\s+0\.02\s+19\.63 HUF/);
    expect(await semops('report', W_LAST, '--csv')).toBe(0);
    expect(out.join('')).toBe('currency,processor,net\nEUR,bank-a,-1996\n');
    expect(await semops('report', '--json')).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual(REPORT);
  });

  it('windows close of an empty window fails with the code', async () => {
    expect(await semops('windows', 'close')).toBe(1);
    expect(err.join('')).toBe('WINDOW_EMPTY: nothing to close\n');
    expect(writes(hub).map((s) => s.body)).toEqual([{}]);
  });

  it('says when the network is not running or not there', async () => {
    const gone = await startStubNode('t', () => undefined);
    await gone.close();
    const other = mkdtempSync(join(tmpdir(), 'semops-operator-'));
    try {
      writeDemoDir(other, { hub: { url: gone.url, token: 't' } });
      expect(
        await operatorMain('windows', ['--dir', other], { out: () => {}, err: (t) => err.push(t) }),
      ).toBe(1);
      expect(err.join('')).toContain('is the demo network running?');
      err.length = 0;
      expect(
        await operatorMain('windows', ['--dir', join(other, 'nowhere')], {
          out: () => {},
          err: (t) => err.push(t),
        }),
      ).toBe(1);
      expect(err.join('')).toContain('No demo network in');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
