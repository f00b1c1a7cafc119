import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { currencyInfo, formatAmount, parseAmount, formatMoney } from './money.js';

describe('money', () => {
  it('parses major units into exact minor units per currency exponent', () => {
    expect(parseAmount('12.5', 'EUR')).toBe(1250n);
    expect(parseAmount('12,50', 'EUR')).toBe(1250n);
    expect(parseAmount('7', 'JPY')).toBe(7n);
    expect(parseAmount('1.234', 'BHD')).toBe(1234n);
    expect(parseAmount('0.01', 'HUF')).toBe(1n);
  });

  it('refuses garbage, signs, excess decimals and unknown currencies', () => {
    for (const bad of ['', '-1', '+1', '1.234', 'abc', '1e3', '1.2.3', ' . ', '99999999999999999999']) {
      expect(() => parseAmount(bad, 'EUR'), bad).toThrow(RangeError);
    }
    expect(() => parseAmount('1.5', 'JPY')).toThrow(/0 decimals/);
    expect(() => parseAmount('1', 'XXX')).toThrow(/unknown currency/);
  });

  it('formats minor units back to the same text', () => {
    expect(formatAmount(1250n, 'EUR')).toBe('12.50');
    expect(formatAmount(5n, 'EUR')).toBe('0.05');
    expect(formatAmount(-5n, 'EUR')).toBe('-0.05');
    expect(formatAmount(12n, 'JPY')).toBe('12');
    expect(formatMoney({ value: 1001n, currency: 'KWD' })).toBe('1.001 KWD');
  });

  it('round-trips every amount exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.constantFrom('EUR', 'JPY', 'BHD', 'HUF'),
        (v, c) => {
          expect(parseAmount(formatAmount(v, c), c)).toBe(v);
        },
      ),
    );
  });

  it('knows ISO numeric codes and exponents', () => {
    expect(currencyInfo('EUR')).toEqual({ code: 'EUR', numeric: '978', exponent: 2 });
    expect(currencyInfo('HUF')?.numeric).toBe('348');
  });
});
