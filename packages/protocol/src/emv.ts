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
  // Trim after cutting too, so that decoding and encoding again gives the same payload.
  const ascii = text
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .trim()
    .slice(0, max)
    .trimEnd();
  return ascii || '-';
}

/** EMV MPM limits: a whole payload holds at most 512 characters; field 54 (amount) at most 13. */
const MAX_PAYLOAD = 512;
const MAX_AMOUNT_CHARS = 13;

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
  // An amount too long for field 54 is left out: the signed request the wallet fetches carries it anyway.
  const amount = p.amount === undefined ? undefined : formatAmount(p.amount, p.currency);
  if (amount !== undefined && amount.length <= MAX_AMOUNT_CHARS) s += field('54', amount);
  s +=
    field('58', p.country) + field('59', clean(p.merchantName, 25)) + field('60', clean(p.merchantCity, 15));
  if (p.reference) s += field('62', field('05', clean(p.reference, 25)));
  s += '6304';
  return s + crc16(s);
}

function invalid(reason: string): SemopsError {
  return new SemopsError('CODE_INVALID', reason);
}

/**
 * Splits an ID-length-value string into its fields, strictly: two-digit ids and lengths, no empty or
 * repeated field, nothing left over. Lengths count characters (Unicode code points), as EMV does.
 */
export function parseTlv(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const chars = [...s];
  let i = 0;
  while (i < chars.length) {
    const id = chars.slice(i, i + 2).join('');
    const lenText = chars.slice(i + 2, i + 4).join('');
    if (!/^\d{2}$/.test(id) || !/^\d{2}$/.test(lenText)) throw invalid('Bad EMV field header.');
    const len = Number(lenText);
    if (len === 0) throw invalid(`EMV field ${id} is empty.`);
    if (i + 4 + len > chars.length) throw invalid(`EMV field ${id} runs past the end.`);
    if (out.has(id)) throw invalid(`EMV field ${id} appears twice.`);
    out.set(id, chars.slice(i + 4, i + 4 + len).join(''));
    i += 4 + len;
  }
  return out;
}

/** Templates (EMV MPM): merchant account information, additional data, language, unreserved. */
function isTemplate(id: string): boolean {
  const n = Number(id);
  return (n >= 26 && n <= 51) || n === 62 || n === 64 || (n >= 80 && n <= 99);
}

/**
 * Reads any EMV merchant-presented payload (SEMOPS or another scheme's) and checks its structure: field 00
 * first with value 01, every field and template well formed, field 63 last holding the CRC-16 of everything
 * before its value. Returns the top-level fields in order; throws CODE_INVALID with a reason.
 * @example decodeEmvFields(qr).get('59') // the merchant name
 */
export function decodeEmvFields(payload: string): Map<string, string> {
  if (typeof payload !== 'string' || payload.length === 0) throw invalid('Not an EMV QR payload.');
  if ([...payload].length > MAX_PAYLOAD) throw invalid('An EMV payload holds at most 512 characters.');
  if (!payload.startsWith('000201')) throw invalid('EMV payload must start with 000201.');
  const f = parseTlv(payload);
  const ids = [...f.keys()];
  if (ids.at(-1) !== '63' || !payload.endsWith(`6304${f.get('63') ?? ''}`)) {
    throw invalid('EMV CRC field 63 missing or not last.');
  }
  const crc = f.get('63') ?? '';
  if (!/^[0-9A-Fa-f]{4}$/.test(crc)) throw invalid('EMV CRC field 63 must be 4 hex digits.');
  if (crc16(payload.slice(0, -4)) !== crc.toUpperCase()) {
    throw invalid('EMV CRC does not match; the code is damaged.');
  }
  for (const [id, value] of f) {
    if (!isTemplate(id)) continue;
    try {
      parseTlv(value);
    } catch (e) {
      throw invalid(`EMV template ${id} is malformed: ${(e as Error).message}`);
    }
  }
  return f;
}

function required(f: Map<string, string>, id: string, what: string): string {
  const v = f.get(id);
  if (v === undefined) throw invalid(`EMV field ${id} (${what}) is missing.`);
  return v;
}

/** Decodes and checks a SEMOPS EMV payload; throws CODE_INVALID with a reason when anything is off. */
export function decodeEmvQr(payload: string): EmvPayment {
  const f = decodeEmvFields(payload);
  const poi = required(f, '01', 'point of initiation');
  if (poi !== '11' && poi !== '12') throw invalid('EMV point of initiation must be 11 or 12.');
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
  if (!tpl) throw invalid('This QR code is not a SEMOPS payment code.');
  const processorId = tpl.get('01');
  const requestId = tpl.get('02');
  if (!processorId || !requestId) throw invalid('SEMOPS template lacks processor or request.');
  const cur = currencyByNumeric(required(f, '53', 'currency'));
  if (!cur) throw invalid('EMV currency (field 53) is unknown.');
  const amountText = f.get('54');
  let amount: bigint | undefined;
  if (amountText !== undefined) {
    if (amountText.length > MAX_AMOUNT_CHARS || !/^\d+(\.\d+)?$/.test(amountText)) {
      throw invalid('EMV amount (field 54) is not a valid amount.');
    }
    try {
      amount = parseAmount(amountText, cur.code);
    } catch {
      throw invalid('EMV amount (field 54) is not a valid amount.');
    }
    if (amount === 0n) throw invalid('EMV amount (field 54) must be more than zero.');
  }
  const category = required(f, '52', 'merchant category');
  const country = required(f, '58', 'country');
  const merchantName = required(f, '59', 'merchant name');
  const merchantCity = required(f, '60', 'merchant city');
  const extra = f.get('62');
  const reference = extra ? parseTlv(extra).get('05') : undefined;
  return {
    dynamic: poi === '12',
    processorId,
    requestId,
    currency: cur.code,
    ...(amount === undefined ? {} : { amount }),
    merchantName,
    merchantCity,
    category,
    country,
    ...(reference === undefined ? {} : { reference }),
  };
}
