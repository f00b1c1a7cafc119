import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SemopsError } from './errors.js';
import { crc16, decodeEmvFields, decodeEmvQr, encodeEmvQr, parseTlv, type EmvPayment } from './emv.js';
import { supportedCurrencies } from './money.js';

/**
 * Published merchant-presented payloads from EMVCo-based national schemes. Each CRC was checked against an
 * independent implementation before it was put here; the sources are named so that they can be checked again.
 */
const PUBLISHED = {
  /** EMVCo MPM specification, appendix example (Chinese language template in ID 64). */
  emvco:
    '00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN' +
    '5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***' +
    '0708A60086670902ME91320016A0112233449988770708123456786304A13A',
  /** Banco Central do Brasil, Pix BR Code manual: static code, no point of initiation (ID 01). */
  pixStatic:
    '00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR' +
    '5913Fulano de Tal6008BRASILIA62070503***63041D3D',
  /** Banco Central do Brasil, Pix BR Code manual: two account templates, postal code, ID 80. */
  pixFull:
    '00020104141234567890123426580014BR.GOV.BCB.PIX0136123e4567-e12b-12d1-a456-42665544000027300012' +
    'BR.COM.OUTRO011001234567895204000053039865406123.455802BR5917NOME DO RECEBEDOR6008BRASILIA' +
    '61087007490062190515RP12345678-201980390012BR.COM.OUTRO01190123.ABCD.3456.WXYZ6304AD38',
  /** Thai PromptPay (Bank of Thailand Thai QR standard), from the promptpay-qr test suite. */
  promptPay: '00020101021129370016A000000677010111011300668012345675802TH530376463046197',
  promptPayAmount: '00020101021229370016A000000677010111011300660000000005802TH530376454044.226304E469',
  /** Cambodian merchant (KHQR style), from the emv-qr-code (Kotlin) test suite. */
  khqr:
    '00020101021252044131153137210116372101160123456789ABCDE6010Phnom Penh5913Merchant Shop5802KH' +
    '540510.005303840622501081234567802090124444446304A0BA',
} as const;

/** One ID-length-value field. */
const tlv = (id: string, value: string) => id + String([...value].length).padStart(2, '0') + value;
/** A payload body with a correct CRC appended, so that the decoder gets past the checksum. */
const withCrc = (body: string) => body + '6304' + crc16(body + '6304');

const REQUEST = 'req_01JDXK7ZQ4ABCDEFGHJKMNPQRS';
const SEMOPS_TEMPLATE = tlv('26', tlv('00', 'ORG.SEMOPS') + tlv('01', 'mno-b') + tlv('02', REQUEST));
/** The fields of a valid SEMOPS payload, in order, without 63. */
const GOOD: ReadonlyArray<readonly [string, string]> = [
  ['00', '01'],
  ['01', '12'],
  ['26', SEMOPS_TEMPLATE.slice(4)],
  ['52', '5812'],
  ['53', '978'],
  ['54', '12.50'],
  ['58', 'AT'],
  ['59', 'Cafe Central'],
  ['60', 'Wien'],
];
/** A payload from GOOD with some fields replaced (value) or left out (null), CRC correct. */
function variant(changes: Record<string, string | null> = {}, extra = ''): string {
  const body = GOOD.filter(([id]) => changes[id] !== null)
    .map(([id, v]) => tlv(id, changes[id] ?? v))
    .join('');
  return withCrc(body + extra);
}

/** The reason a payload is refused, or 'OK'. */
function reason(payload: string): string {
  try {
    decodeEmvQr(payload);
    return 'OK';
  } catch (e) {
    if (!(e instanceof SemopsError)) throw e;
    expect(e.code).toBe('CODE_INVALID');
    return e.message;
  }
}

describe('CRC-16/CCITT-FALSE', () => {
  it('gives the catalogue check value and the CRC of every published payload', () => {
    expect(crc16('123456789')).toBe('29B1');
    for (const p of Object.values(PUBLISHED)) expect(crc16(p.slice(0, -4))).toBe(p.slice(-4));
  });
});

describe('published EMV payloads', () => {
  it('reads the EMVCo specification example, counting characters not bytes', () => {
    const f = decodeEmvFields(PUBLISHED.emvco);
    expect([...f.keys()]).toEqual([
      '00', '01', '29', '31', '52', '58', '59', '60', '64', '54', '53', '55', '62', '91', '63',
    ]); // prettier-ignore
    expect(f.get('59')).toBe('BEST TRANSPORT');
    expect(f.get('54')).toBe('23.72');
    expect(f.get('53')).toBe('156');
    expect(parseTlv(f.get('64')!)).toEqual(
      new Map([
        ['00', 'ZH'],
        ['01', '最佳运输'],
        ['02', '北京'],
      ]),
    );
    expect(parseTlv(f.get('62')!).get('03')).toBe('1234');
  });

  it('reads the Pix, PromptPay and KHQR examples', () => {
    expect(parseTlv(decodeEmvFields(PUBLISHED.pixStatic).get('26')!).get('00')).toBe('br.gov.bcb.pix');
    const full = decodeEmvFields(PUBLISHED.pixFull);
    expect(full.get('54')).toBe('123.45');
    expect(full.get('61')).toBe('70074900');
    expect(parseTlv(full.get('80')!).get('00')).toBe('BR.COM.OUTRO');
    expect(parseTlv(decodeEmvFields(PUBLISHED.promptPay).get('29')!).get('01')).toBe('0066801234567');
    expect(decodeEmvFields(PUBLISHED.promptPayAmount).get('54')).toBe('4.22');
    const kh = decodeEmvFields(PUBLISHED.khqr);
    expect(kh.get('15')).toBe('37210116372101160123456789ABCDE'); // IDs 02–25 are primitive
    expect(kh.get('60')).toBe('Phnom Penh');
    expect(parseTlv(kh.get('62')!).get('02')).toBe('012444444');
  });

  it('refuses them as SEMOPS payment codes, with the reason', () => {
    expect(reason(PUBLISHED.emvco)).toMatch(/not a SEMOPS payment code/);
    expect(reason(PUBLISHED.promptPay)).toMatch(/not a SEMOPS payment code/);
    expect(reason(PUBLISHED.khqr)).toMatch(/not a SEMOPS payment code/);
    expect(reason(PUBLISHED.pixStatic)).toMatch(/field 01 \(point of initiation\) is missing/);
  });

  it('notices one changed character in any of them', () => {
    for (const p of Object.values(PUBLISHED)) {
      const i = p.indexOf('5802') + 4;
      const damaged = p.slice(0, i) + (p[i] === 'X' ? 'Y' : 'X') + p.slice(i + 1);
      expect(() => decodeEmvFields(damaged)).toThrow(/CRC does not match/);
    }
  });
});

describe('SEMOPS payloads', () => {
  const base: EmvPayment = {
    dynamic: true,
    processorId: 'mno-b',
    requestId: REQUEST,
    currency: 'EUR',
    amount: 1250n,
    merchantName: 'Cafe Central',
    merchantCity: 'Wien',
    category: '5812',
    country: 'AT',
  };

  it('encodes field by field, in the order EMV lists them', () => {
    expect(encodeEmvQr(base)).toBe(variant());
    expect(decodeEmvQr(variant())).toEqual(base);
  });

  it('writes static codes without an amount and carries the reference in template 62', () => {
    const p = encodeEmvQr({ ...base, dynamic: false, amount: undefined, reference: 'zone-1' });
    expect(p).toContain('010211');
    expect(p).not.toContain('5405');
    expect(decodeEmvQr(p)).toMatchObject({ dynamic: false, reference: 'zone-1' });
    expect(decodeEmvQr(p).amount).toBeUndefined();
  });

  it('leaves out an amount longer than field 54 allows (the signed request carries it)', () => {
    const p = encodeEmvQr({ ...base, amount: 9_000_000_000_000_000n });
    expect(decodeEmvQr(p).amount).toBeUndefined();
  });

  it('folds merchant names to printable ASCII within the EMV lengths', () => {
    const d = decodeEmvQr(
      encodeEmvQr({ ...base, merchantName: 'Café Müller – Ðelikatessen & Bäckerei', merchantCity: 'Zürich' }),
    );
    expect(d.merchantName).toBe('Cafe Muller  elikatessen');
    expect(d.merchantCity).toBe('Zurich');
  });
});

describe('strict decoding of garbage', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /Not an EMV QR payload/],
    ['not EMV at all', 'hello world', /must start with 000201/],
    [
      'wrong payload format version',
      withCrc(
        '000202' +
          GOOD.slice(1)
            .map(([i, v]) => tlv(i, v))
            .join(''),
      ),
      /000201/,
    ],
    [
      'field 00 missing',
      withCrc(
        GOOD.slice(1)
          .map(([i, v]) => tlv(i, v))
          .join(''),
      ),
      /000201/,
    ],
    ['truncated (cut inside a field)', variant().slice(0, 60), /runs past the end|Bad EMV field header/],
    ['a field longer than what is left', variant({}, '6130Cafe'), /field 61 runs past the end/],
    ['length that is not a number', withCrc('000201010212' + '59AB' + 'Cafe'), /Bad EMV field header/],
    ['id that is not a number', variant({}, 'X104Cafe'), /Bad EMV field header/],
    ['empty field', variant({}, '6100'), /field 61 is empty/],
    ['duplicate id', variant({}, tlv('59', 'Other Shop')), /field 59 appears twice/],
    [
      'wrong CRC',
      variant().slice(0, -4) + (variant().endsWith('0000') ? '1111' : '0000'),
      /CRC does not match/,
    ],
    ['CRC not hex', variant().slice(0, -4) + 'WXYZ', /4 hex digits|CRC does not match/],
    ['CRC field missing', GOOD.map(([i, v]) => tlv(i, v)).join(''), /field 63 missing/],
    ['CRC field not last', variant() + tlv('61', '1010'), /field 63 missing or not last/],
    ['CRC of the wrong length', GOOD.map(([i, v]) => tlv(i, v)).join('') + '6305ABCDE', /field 63/],
    ['point of initiation missing', variant({ '01': null }), /field 01 \(point of initiation\) is missing/],
    ['point of initiation unknown', variant({ '01': '13' }), /must be 11 or 12/],
    ['currency missing', variant({ '53': null }), /field 53 \(currency\) is missing/],
    ['currency unknown', variant({ '53': '999' }), /currency \(field 53\) is unknown/],
    ['amount with a comma', variant({ '54': '12,50' }), /amount/],
    ['negative amount', variant({ '54': '-12.50' }), /amount/],
    ['zero amount', variant({ '54': '0.00' }), /more than zero/],
    ['too many decimals', variant({ '54': '12.505' }), /amount/],
    ['amount over 13 characters', variant({ '54': '12345678901.50' }), /amount/],
    ['merchant name missing', variant({ '59': null }), /field 59 \(merchant name\)/],
    ['merchant city missing', variant({ '60': null }), /field 60 \(merchant city\)/],
    ['category missing', variant({ '52': null }), /field 52 \(merchant category\)/],
    ['country missing', variant({ '58': null }), /field 58 \(country\)/],
    ['no SEMOPS template', variant({ '26': tlv('00', 'BR.GOV.BCB.PIX') + tlv('01', 'x') }), /not a SEMOPS/],
    [
      'template without a request',
      variant({ '26': tlv('00', 'ORG.SEMOPS') + tlv('01', 'mno-b') }),
      /lacks processor or request/,
    ],
    ['malformed template', variant({ '26': 'ORG.SEMOPS' }), /template 26 is malformed/],
    ['malformed additional data', variant({}, tlv('62', '05')), /template 62 is malformed/],
    [
      'longer than 512 characters',
      variant(
        {},
        ['80', '81', '82', '83', '84', '85'].map((i) => tlv(i, tlv('00', 'z'.repeat(95)))).join(''),
      ),
      /at most 512/,
    ],
  ];

  it.each(cases)('%s → CODE_INVALID', (_name, payload, why) => {
    expect(reason(payload)).toMatch(why);
  });

  it('accepts a lower-case CRC (hex case is not significant)', () => {
    const v = variant();
    expect(reason(v.slice(0, -4) + v.slice(-4).toLowerCase())).toBe('OK');
  });

  it('never throws anything but CODE_INVALID, whatever the input', () => {
    const tlvish = fc
      .array(
        fc.tuple(
          fc.stringMatching(/^\d{2}$/),
          fc.string({ minLength: 0, maxLength: 30, unit: 'binary' }),
          fc.boolean(),
        ),
        { maxLength: 12 },
      )
      .map((fields) =>
        withCrc('000201' + fields.map(([id, v, honest]) => (honest ? tlv(id, v) : id + '07' + v)).join('')),
      );
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), tlvish), (s) => {
        reason(s); // asserts CODE_INVALID when it throws
      }),
      { numRuns: 500 },
    );
  });
});

describe('round trip (property)', () => {
  /** Printable ASCII without leading or trailing blanks: what the encoder keeps unchanged. */
  const ascii = (max: number) =>
    fc.stringMatching(new RegExp(`^[!-~]([ -~]{0,${max - 2}}[!-~])?$`)).filter((s) => s.length <= max);
  const payment: fc.Arbitrary<EmvPayment> = fc.record(
    {
      dynamic: fc.boolean(),
      processorId: fc.stringMatching(/^[a-z][a-z0-9-]{1,31}$/),
      requestId: fc.stringMatching(/^req_[0-9A-HJKMNP-TV-Z]{26}$/),
      currency: fc.constantFrom(...supportedCurrencies()),
      amount: fc.bigInt({ min: 1n, max: 99_999_999_999n }),
      merchantName: ascii(25),
      merchantCity: ascii(15),
      category: fc.stringMatching(/^\d{4}$/),
      country: fc.stringMatching(/^[A-Z]{2}$/),
      reference: ascii(25),
    },
    {
      requiredKeys: [
        'dynamic',
        'processorId',
        'requestId',
        'currency',
        'merchantName',
        'merchantCity',
        'category',
        'country',
      ],
    },
  );

  it('decode(encode(p)) is p', () => {
    fc.assert(
      fc.property(payment, (p) => {
        expect(decodeEmvQr(encodeEmvQr(p))).toEqual(p);
      }),
      { numRuns: 300 },
    );
  });

  it('any text for names survives as its cleaned form, and encoding that again changes nothing', () => {
    fc.assert(
      fc.property(payment, fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (p, name, city) => {
        const once = encodeEmvQr({ ...p, merchantName: name, merchantCity: city });
        const d = decodeEmvQr(once);
        expect(d.merchantName.length).toBeGreaterThan(0);
        expect(d.merchantName).toMatch(/^[ -~]{1,25}$/);
        expect(d.merchantCity).toMatch(/^[ -~]{1,15}$/);
        expect(encodeEmvQr(d)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses every single-character change and every truncation', () => {
    fc.assert(
      fc.property(payment, fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (p, at, code) => {
        const s = encodeEmvQr(p);
        const i = at % s.length;
        const c = String.fromCharCode(code);
        if (s[i] === c || (i >= s.length - 4 && s[i]!.toLowerCase() === c.toLowerCase())) return;
        expect(reason(s.slice(0, i) + c + s.slice(i + 1))).not.toBe('OK');
        expect(reason(s.slice(0, i))).not.toBe('OK');
      }),
      { numRuns: 500 },
    );
  });
});
