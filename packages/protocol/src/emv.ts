/**
 * EMV merchant-presented QR payloads (EMVCo MPM): ID-length-value fields with 2-digit ids and lengths,
 * a SEMOPS merchant account template in ID 26 and a CRC-16/CCITT-FALSE checksum in ID 63.
 */
import { SemopsError } from './errors.js';
import { currencyByNumeric, currencyInfo, formatAmount, parseAmount } from './money.js';

/** Globally unique identifier of the SEMOPS template (sub-ID 00 of ID 26). */
export const SEMOPS_GUI = 'ORG.SEMOPS';

export interface EmvPayment {
  /** Dynamic (one sale, amount fixed) or static (reusable, amount may be entered by the payer). */
  readonly dynamic: boolean;
  readonly processorId: string;
  readonly requestId: string;
  readonly currency: string;
  /** Minor units, when the amount is fixed. */
  readonly amount?: bigint;
  readonly merchantName: string;
  readonly merchantCity: string;
  readonly category: string;
  readonly country: string;
  readonly reference?: string;
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of the UTF-8 bytes of `text`, as 4 upper-case hex digits. */
export function crc16(text: string): string {
  let crc = 0xffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

function field(id: string, value: string): string {
  const len = [...value].length;
  if (len === 0 || len > 99) throw new RangeError(`EMV field ${id} must be 1..99 characters`);
  return id + String(len).padStart(2, '0') + value;
}

/** Merchant name and city allow a restricted character set; keep printable ASCII. */
function clean(text: string, max: number): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .trim();
  return (ascii || '-').slice(0, max);
}

/** Encodes a payment as an EMV MPM payload string (what the QR code holds). */
export function encodeEmvQr(p: EmvPayment): string {
  const cur = currencyInfo(p.currency);
  if (!cur) throw new RangeError(`unknown currency ${p.currency}`);
  const template = field('00', SEMOPS_GUI) + field('01', p.processorId) + field('02', p.requestId);
  let s =
    field('00', '01') +
    field('01', p.dynamic ? '12' : '11') +
    field('26', template) +
    field('52', p.category) +
    field('53', cur.numeric);
  if (p.amount !== undefined) s += field('54', formatAmount(p.amount, p.currency));
  s +=
    field('58', p.country) + field('59', clean(p.merchantName, 25)) + field('60', clean(p.merchantCity, 15));
  if (p.reference) s += field('62', field('05', clean(p.reference, 25)));
  s += '6304';
  return s + crc16(s);
}

/** Splits a TLV string into its fields, strictly. */
export function parseTlv(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const chars = [...s];
  let i = 0;
  while (i < chars.length) {
    const id = chars.slice(i, i + 2).join('');
    const lenText = chars.slice(i + 2, i + 4).join('');
    if (!/^\d{2}$/.test(id) || !/^\d{2}$/.test(lenText))
      throw new SemopsError('CODE_INVALID', 'Bad EMV field header.');
    const len = Number(lenText);
    if (i + 4 + len > chars.length)
      throw new SemopsError('CODE_INVALID', `EMV field ${id} runs past the end.`);
    if (out.has(id)) throw new SemopsError('CODE_INVALID', `EMV field ${id} appears twice.`);
    out.set(id, chars.slice(i + 4, i + 4 + len).join(''));
    i += 4 + len;
  }
  return out;
}

/** Decodes and checks an EMV payload; throws CODE_INVALID with a reason when anything is off. */
export function decodeEmvQr(payload: string): EmvPayment {
  if (typeof payload !== 'string' || payload.length < 30 || payload.length > 512) {
    throw new SemopsError('CODE_INVALID', 'Not an EMV QR payload.');
  }
  if (!payload.startsWith('000201'))
    throw new SemopsError('CODE_INVALID', 'EMV payload must start with 000201.');
  const crcAt = payload.length - 8;
  if (payload.slice(crcAt, crcAt + 4) !== '6304')
    throw new SemopsError('CODE_INVALID', 'EMV CRC field 63 missing.');
  if (crc16(payload.slice(0, crcAt + 4)) !== payload.slice(crcAt + 4).toUpperCase()) {
    throw new SemopsError('CODE_INVALID', 'EMV CRC does not match; the code is damaged.');
  }
  const f = parseTlv(payload);
  const poi = f.get('01');
  if (poi !== '11' && poi !== '12')
    throw new SemopsError('CODE_INVALID', 'EMV point of initiation must be 11 or 12.');
  let tpl: Map<string, string> | undefined;
  for (let id = 26; id <= 51; id++) {
    const v = f.get(String(id));
    if (v === undefined) continue;
    const t = parseTlv(v);
    if (t.get('00')?.toUpperCase() === SEMOPS_GUI) {
      tpl = t;
      break;
    }
  }
  if (!tpl) throw new SemopsError('CODE_INVALID', 'This QR code is not a SEMOPS payment code.');
  const processorId = tpl.get('01');
  const requestId = tpl.get('02');
  if (!processorId || !requestId)
    throw new SemopsError('CODE_INVALID', 'SEMOPS template lacks processor or request.');
  const cur = currencyByNumeric(f.get('53') ?? '');
  if (!cur) throw new SemopsError('CODE_INVALID', 'EMV currency (field 53) is missing or unknown.');
  const amountText = f.get('54');
  let amount: bigint | undefined;
  if (amountText !== undefined) {
    try {
      amount = parseAmount(amountText, cur.code);
    } catch {
      throw new SemopsError('CODE_INVALID', 'EMV amount (field 54) is not a valid amount.');
    }
  }
  const extra = f.get('62');
  const reference = extra ? parseTlv(extra).get('05') : undefined;
  return {
    dynamic: poi === '12',
    processorId,
    requestId,
    currency: cur.code,
    ...(amount === undefined ? {} : { amount }),
    merchantName: f.get('59') ?? '',
    merchantCity: f.get('60') ?? '',
    category: f.get('52') ?? '0000',
    country: f.get('58') ?? '',
    ...(reference === undefined ? {} : { reference }),
  };
}
