import { describe, expect, it } from 'vitest';
import { isShortCode, luhnDigit, makeDeepLink, makeShortCode, parseDeepLink } from './links.js';
import { crc16, decodeEmvQr, encodeEmvQr } from './emv.js';
import { newId, isId } from './ids.js';

describe('short codes and links', () => {
  it('uses the Luhn check digit (published example 7992739871 → 3)', () => {
    expect(luhnDigit('7992739871')).toBe('3');
    const code = makeShortCode('101', 42);
    expect(code).toMatch(/^101000042\d$/);
    expect(isShortCode(code)).toBe(true);
    const typo = code.slice(0, 8) + String((Number(code[8]) + 1) % 10) + code[9];
    expect(isShortCode(typo)).toBe(false);
  });

  it('round-trips deep links and refuses others', () => {
    const r = newId('req');
    expect(isId('req', r)).toBe(true);
    expect(parseDeepLink(makeDeepLink('bank-a', r))).toEqual({
      kind: 'request',
      processorId: 'bank-a',
      requestId: r,
    });
    expect(() => parseDeepLink('https://evil.example/?p=bank-a&r=x')).toThrow();
    expect(() => parseDeepLink('nonsense')).toThrow();
  });
});

describe('EMV QR', () => {
  it('computes CRC-16/CCITT-FALSE (check value of "123456789" is 29B1)', () => {
    expect(crc16('123456789')).toBe('29B1');
  });

  it('encodes and strictly decodes a SEMOPS payment', () => {
    const requestId = newId('req');
    const payload = encodeEmvQr({
      dynamic: true,
      processorId: 'mno-b',
      requestId,
      currency: 'EUR',
      amount: 1250n,
      merchantName: 'Café Müller',
      merchantCity: 'Wien',
      category: '5812',
      country: 'AT',
      reference: 'T-17',
    });
    expect(payload.startsWith('000201010212')).toBe(true);
    expect(payload).toContain('5303978');
    expect(payload).toContain('540512.50');
    const d = decodeEmvQr(payload);
    expect(d).toMatchObject({
      processorId: 'mno-b',
      requestId,
      amount: 1250n,
      currency: 'EUR',
      merchantName: 'Cafe Muller',
    });
    const damaged = payload.replace('12.50', '92.50');
    expect(() => decodeEmvQr(damaged)).toThrow(/CRC/);
    expect(() => decodeEmvQr('000201garbage')).toThrow();
  });
});
