import { describe, expect, it } from 'vitest';
import { SemopsError } from '@semops/protocol';
import { checkRates, parseRatesFile } from './rates.js';

function refusal(f: () => unknown): SemopsError {
  try {
    f();
  } catch (e) {
    if (e instanceof SemopsError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('rates file', () => {
  it('reads base,quote,rate lines with comments, blank lines, spaces, CRLF and a header', () => {
    const text =
      '\uFEFFbase,quote,rate\r\n# daily reference rates\r\n\r\n EUR , HUF , 392.45 \r\nchf,eur,1.0571\r\n';
    expect(parseRatesFile(text)).toEqual([
      { base: 'EUR', quote: 'HUF', rate: '392.45' },
      { base: 'CHF', quote: 'EUR', rate: '1.0571' },
    ]);
  });

  it.each([
    ['EUR,HUF', 1, /3 fields|base,quote,rate/],
    ['# ok\nEUR,HUF,392,45', 2, /4 fields/],
    ['EUR,HUF,392.45\nEUR,XXX,1', 2, /unknown currency "XXX"/],
    ['EUR,EUR,1', 1, /not a conversion/],
    ['EUR,HUF,-392.45', 1, /positive decimal/],
    ['EUR,HUF,0', 1, /positive decimal/],
    ['EUR,HUF,1e3', 1, /positive decimal/],
    ['EUR,HUF,abc', 1, /positive decimal/],
    ['EUR,HUF,392.45\n\nHUF,EUR,0.00255', 3, /already given on line 1/],
    ['# nothing here\n\n', 3, /no rate/],
  ])('refuses %j at line %i, naming the problem', (text, line, problem) => {
    const e = refusal(() => parseRatesFile(text, 'rates.csv'));
    expect(e.code).toBe('RATES_FILE_INVALID');
    expect(e.details).toMatchObject({ file: 'rates.csv', line });
    expect(e.message).toMatch(problem);
    expect(e.message).toContain(`rates.csv, line ${line}`);
  });
});

describe('rates from the admin API', () => {
  it('accepts valid rates and refuses a bad one or a pair given twice (either direction)', () => {
    expect(checkRates([{ base: 'EUR', quote: 'HUF', rate: ' 392.45' }])).toEqual([
      { base: 'EUR', quote: 'HUF', rate: '392.45' },
    ]);
    expect(checkRates([])).toEqual([]);
    const bad = refusal(() => checkRates([{ base: 'EUR', quote: 'HUF', rate: '1,5' }]));
    expect(bad.code).toBe('VALIDATION_FAILED');
    expect(bad.message).toMatch(/rates\.0/);
    const twice = refusal(() =>
      checkRates([
        { base: 'EUR', quote: 'HUF', rate: '392.45' },
        { base: 'HUF', quote: 'EUR', rate: '0.0025' },
      ]),
    );
    expect(twice.message).toMatch(/rates\.1: EUR\/HUF is given twice/);
  });
});
