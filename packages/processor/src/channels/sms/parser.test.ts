import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInboundSms, normalizePhone } from '../gateway.js';
import { parseSmsCommand, storedText, type SmsCommand } from './parser.js';

describe('SMS commands', () => {
  const cases: Array<[string, SmsCommand]> = [
    ['PAY 2020000171', { kind: 'PAY', code: '2020000171' }],
    ['pay 2020000171 5.50', { kind: 'PAY', code: '2020000171', amount: '5.50' }],
    ['  Pay   2020000171   5,50 ', { kind: 'PAY', code: '2020000171', amount: '5,50' }],
    ['PAY 202 000 0171', { kind: 'PAY', code: '2020000171' }],
    ['PAY 202 000 0171 12', { kind: 'PAY', code: '2020000171', amount: '12' }],
    ['PAY semops://pay?p=mno-b&r=x', { kind: 'PAY', code: 'semops://pay?p=mno-b&r=x' }],
    ['SEND +43 660123456 10', { kind: 'SEND', to: '+43660123456', amount: '10' }],
    ['SEND +43 (660) 123-456 10', { kind: 'SEND', to: '+43660123456', amount: '10' }],
    ['SEND +43660123456 10', { kind: 'SEND', to: '+43660123456', amount: '10' }],
    ['send 0043660123456 2.5', { kind: 'SEND', to: '+43660123456', amount: '2.5' }],
    ['Send Ben.O@MNO-B 7,50', { kind: 'SEND', to: 'ben.o@mno-b', amount: '7,50' }],
    ['BILL 2024711 123456 45.50', { kind: 'BILL', code: '2024711', account: '123456', amount: '45.50' }],
    ['bill 10100 AB-12/3 5', { kind: 'BILL', code: '10100', account: 'AB-12/3', amount: '5' }],
    ['AIRTIME 5', { kind: 'AIRTIME', amount: '5' }],
    ['airtime +43 660 1234567 2,50', { kind: 'AIRTIME', phone: '+436601234567', amount: '2,50' }],
    ['INBOX', { kind: 'INBOX' }],
    ['requests', { kind: 'INBOX' }],
    ['ACCEPT 2', { kind: 'ACCEPT', n: 2 }],
    ['decline 1', { kind: 'DECLINE', n: 1 }],
    ['CHANGEPIN', { kind: 'CHANGEPIN' }],
    ['change pin', { kind: 'CHANGEPIN' }],
    ['PIN CHANGE 1234 5678', { kind: 'CHANGEPIN' }],
    ['BAL', { kind: 'BAL' }],
    ['balance', { kind: 'BAL' }],
    ['MINI', { kind: 'MINI' }],
    ['help', { kind: 'HELP' }],
    ['?', { kind: 'HELP' }],
    ['1234', { kind: 'PIN', pin: '1234' }],
    [' 580417 ', { kind: 'PIN', pin: '580417' }],
    ['PIN 1234', { kind: 'PIN', pin: '1234' }],
  ];
  it.each(cases)('%j', (text, cmd) => {
    expect(parseSmsCommand(text)).toEqual(cmd);
  });

  const garbage: Array<[string, SmsCommand['kind']]> = [
    ['', 'UNKNOWN'],
    ['hello', 'UNKNOWN'],
    ['123', 'UNKNOWN'],
    ['1234567', 'UNKNOWN'],
    ['12 34', 'UNKNOWN'],
    ['PAY', 'USAGE'],
    ['PAY 2020000171 five', 'USAGE'],
    ['PAY 2020000171 5 6', 'USAGE'],
    ['PAY 202 000 0171 5 6', 'USAGE'],
    ['PAY 2020000171 -5', 'USAGE'],
    ['SEND', 'USAGE'],
    ['SEND bob 10', 'USAGE'],
    ['SEND bob@ 10', 'USAGE'],
    ['SEND 0660123456 10', 'USAGE'],
    ['SEND +43660123456', 'USAGE'],
    ['SEND +43660123456 ten', 'USAGE'],
    ['SEND +43660123456 10 EUR', 'USAGE'],
    ['SEND +43660123456 -10', 'USAGE'],
    ['SEND +43660123456 1.2.3', 'USAGE'],
    ['SEND 10 +43660123456', 'USAGE'],
    ['BILL 2024711 123456', 'USAGE'],
    ['BILL 1234 123456 5', 'USAGE'],
    ['BILL 2024711 123456 five', 'USAGE'],
    ['AIRTIME', 'USAGE'],
    ['AIRTIME 0660 5', 'USAGE'],
    ['INBOX 1', 'UNKNOWN'],
    ['ACCEPT', 'USAGE'],
    ['ACCEPT 0', 'USAGE'],
    ['ACCEPT 12', 'USAGE'],
    ['DECLINE x', 'USAGE'],
    ['PIN', 'UNKNOWN'],
    ['BAL now', 'UNKNOWN'],
    ['MINI 5', 'UNKNOWN'],
    ['PAYX 2020000171', 'UNKNOWN'],
    ['\u0000\u0001', 'UNKNOWN'],
  ];
  it.each(garbage)('%j is %s', (text, kind) => {
    expect(parseSmsCommand(text).kind).toBe(kind);
  });

  it('never throws, whatever arrives', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        expect(parseSmsCommand(s).kind).toMatch(
          /^(PAY|SEND|BILL|AIRTIME|INBOX|ACCEPT|DECLINE|CHANGEPIN|BAL|MINI|HELP|BLOCK|PIN|USAGE|UNKNOWN)$/,
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('what is stored of an inbound text', () => {
  it('stores a PIN reply as ****', () => {
    expect(storedText('1234', parseSmsCommand('1234'))).toBe('****');
    expect(storedText('PIN 580417', parseSmsCommand('PIN 580417'))).toBe('****');
  });
  it('masks digit groups that may be a PIN in texts that are not commands', () => {
    const text = 'my pin is 1234 ok, code 2020000171';
    expect(storedText(text, parseSmsCommand(text))).toBe('my pin is **** ok, code 2020000171');
    expect(storedText('CHANGE PIN 1234 567890', parseSmsCommand('CHANGE PIN 1234 567890'))).toBe(
      'CHANGE PIN **** ****',
    );
    expect(storedText('PAY 1234 x y z', parseSmsCommand('PAY 1234 x y z'))).toBe('PAY **** x y z');
  });
  it('keeps commands as they are', () => {
    expect(storedText('PAY 2020000171 5', parseSmsCommand('PAY 2020000171 5'))).toBe('PAY 2020000171 5');
  });
  it('never keeps a text that is only a PIN (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\s*([Pp][Ii][Nn]\s*)?\d{4,6}\s*$/), (s) => {
        expect(storedText(s, parseSmsCommand(s))).toBe('****');
      }),
    );
  });
});

describe('gateway webhook formats', () => {
  it("reads Africa's Talking, generic and Twilio fields", () => {
    expect(parseInboundSms({ from: '+254711000001', to: '22555', text: 'BAL', id: 'ATXid_1' })).toEqual({
      gatewayId: 'ATXid_1',
      from: '+254711000001',
      to: '22555',
      text: 'BAL',
    });
    expect(parseInboundSms({ from: '254711000001', to: '22555', message: 'HELP' })).toEqual({
      from: '+254711000001',
      to: '22555',
      text: 'HELP',
    });
    expect(
      parseInboundSms({ From: '+14155550100', To: '+14155550199', Body: 'MINI', MessageSid: 'SM123' }),
    ).toEqual({ gatewayId: 'SM123', from: '+14155550100', to: '+14155550199', text: 'MINI' });
  });
  it('refuses bodies that are not an inbound text', () => {
    for (const body of [
      null,
      'text',
      {},
      { from: 'bob', to: '1', text: 'x' },
      { from: '+254711000001', text: 'x' },
      { from: '+254711000001', to: '1' },
      { from: '+254711000001', to: '1', text: 'x'.repeat(2000) },
    ]) {
      expect(() => parseInboundSms(body)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
  it('normalizes phone numbers', () => {
    expect(normalizePhone('+43 660 123-456')).toBe('+43660123456');
    expect(normalizePhone('0043660123456')).toBe('+43660123456');
    expect(normalizePhone('43660123456')).toBe('+43660123456');
    expect(normalizePhone('+0123')).toBeUndefined();
    expect(normalizePhone('bob')).toBeUndefined();
    expect(normalizePhone('')).toBeUndefined();
  });
});
