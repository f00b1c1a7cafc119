import { describe, expect, it } from 'vitest';
import { amount, formatMoney, minorUnits, sameMoney, toMajor } from './money.js';

describe('money helpers', () => {
  it('turns major-unit decimals into exact minor units and back', () => {
    expect(amount('12.50', 'EUR')).toEqual({ value: '1250', currency: 'EUR' });
    expect(amount('12.5', 'EUR')).toEqual({ value: '1250', currency: 'EUR' });
    expect(amount('0.01', 'EUR')).toEqual({ value: '1', currency: 'EUR' });
    expect(amount('500', 'UGX')).toEqual({ value: '500', currency: 'UGX' });
    expect(amount('1.234', 'KWD')).toEqual({ value: '1234', currency: 'KWD' });
    expect(toMajor({ value: '1250', currency: 'EUR' })).toBe('12.50');
    expect(formatMoney({ value: '5', currency: 'EUR' })).toBe('0.05 EUR');
    expect(minorUnits(1250n, 'EUR')).toEqual({ value: '1250', currency: 'EUR' });
  });

  it('refuses what is not an exact amount', () => {
    for (const [text, cur] of [
      ['12.505', 'EUR'],
      ['-1', 'EUR'],
      ['1e3', 'EUR'],
      ['12,50.1', 'EUR'],
      ['', 'EUR'],
      ['1.5', 'UGX'],
      ['1', 'XXX'],
    ] as const) {
      expect(() => amount(text, cur), `${text} ${cur}`).toThrow(RangeError);
    }
    expect(() => minorUnits(1.5, 'EUR')).toThrow(RangeError);
  });

  it('compares amounts by value and currency', () => {
    expect(sameMoney({ value: '0100', currency: 'EUR' }, { value: '100', currency: 'EUR' })).toBe(true);
    expect(sameMoney({ value: '100', currency: 'EUR' }, { value: '100', currency: 'USD' })).toBe(false);
  });
});
