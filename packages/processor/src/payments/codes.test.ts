import { describe, expect, it } from 'vitest';
import { encodeEmvQr, makeDeepLink, makeShortCode, newId, SemopsError } from '@semops/protocol';
import { parseCode } from './codes.js';

function code(f: () => unknown): string {
  try {
    f();
    return 'OK';
  } catch (e) {
    return e instanceof SemopsError ? e.code : 'THROWN';
  }
}

describe('parseCode', () => {
  const requestId = newId('req');
  it('reads short codes (with spaces), deep links, QR payloads and tokens', () => {
    const sc = makeShortCode('202', 17);
    expect(parseCode(`${sc.slice(0, 3)} ${sc.slice(3, 6)} ${sc.slice(6)}`)).toEqual({ shortCode: sc });
    expect(parseCode(makeDeepLink('mno-b', requestId))).toEqual({ processorId: 'mno-b', requestId });
    const qr = encodeEmvQr({
      dynamic: true,
      processorId: 'mno-b',
      requestId,
      currency: 'EUR',
      amount: 100n,
      merchantName: 'X',
      merchantCity: 'Y',
      category: '5812',
      country: 'AT',
    });
    expect(parseCode(qr)).toEqual({ processorId: 'mno-b', requestId });
    const payload = Buffer.from(JSON.stringify({ processorId: 'mno-b', requestId })).toString('base64url');
    expect(parseCode(`eyJhbGciOiJFZERTQSJ9.${payload}.sig`)).toEqual({ processorId: 'mno-b', requestId });
  });
  it('refuses garbage with a clear code', () => {
    expect(code(() => parseCode('1234567890'))).toBe('CODE_INVALID');
    expect(code(() => parseCode('hello'))).toBe('CODE_INVALID');
    expect(code(() => parseCode('a.b.c'))).toBe('REQUEST_TOKEN_INVALID');
    expect(code(() => parseCode('semops://pay?p=../&r=x'))).toBe('CODE_INVALID');
    expect(code(() => parseCode('000201' + 'x'.repeat(40)))).toBe('CODE_INVALID');
  });
});
