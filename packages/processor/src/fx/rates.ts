/**
 * Exchange-rate input: the rates file (a daily reference-rate file the operator replaces) and the rate lists
 * of the admin API, checked the same way. A rate has a direction — `EUR,HUF,392.45` means 1 EUR = 392.45 HUF
 * — and is kept as the exact decimal given; quotes parse it into a rational (`parseRate`).
 */
import { SemopsError, currencyInfo, parseRate } from '@semops/protocol';

/** One mid rate: 1 major unit of `base` = `rate` major units of `quote`. */
export interface RateEntry {
  readonly base: string;
  readonly quote: string;
  /** An exact positive decimal, e.g. `'392.45'`. */
  readonly rate: string;
}

/** Why an entry is not a usable rate, or undefined when it is. */
export function rateProblem(e: RateEntry): string | undefined {
  for (const c of [e.base, e.quote]) {
    if (!/^[A-Z]{3}$/.test(c) || !currencyInfo(c)) return `unknown currency ${JSON.stringify(c)}`;
  }
  if (e.base === e.quote) return `${e.base} to ${e.quote} is not a conversion`;
  try {
    parseRate(e.rate);
  } catch {
    return `the rate must be a positive decimal such as 392.45, not ${JSON.stringify(e.rate)}`;
  }
  return undefined;
}

/** The key of a currency pair regardless of direction (a pair may be given once). */
const pairKey = (e: RateEntry) => [e.base, e.quote].sort().join('/');

/**
 * Checks a list of rates (admin API): every entry valid, no pair twice (in either direction). Throws
 * VALIDATION_FAILED naming the first bad entry.
 */
export function checkRates(rates: readonly RateEntry[]): RateEntry[] {
  const seen = new Set<string>();
  return rates.map((e, i) => {
    const problem = rateProblem(e) ?? (seen.has(pairKey(e)) ? `${pairKey(e)} is given twice` : undefined);
    if (problem) {
      throw new SemopsError('VALIDATION_FAILED', `Invalid request, rates.${i}: ${problem}.`, {
        issues: [{ path: `rates.${i}`, message: problem }],
      });
    }
    seen.add(pairKey(e));
    return { base: e.base, quote: e.quote, rate: e.rate.trim() };
  });
}

/**
 * Parses a rates file: one `base,quote,rate` per line (`EUR,HUF,392.45`), spaces around fields allowed,
 * blank lines and lines starting with `#` ignored, an optional header line `base,quote,rate`. Throws
 * RATES_FILE_INVALID with `details.line` (1-based) and the reason at the first bad line; a file without any
 * rate is refused too (it would silently switch conversion off).
 * @example parseRatesFile('# daily\nEUR,HUF,392.45\n') // [{ base: 'EUR', quote: 'HUF', rate: '392.45' }]
 */
export function parseRatesFile(text: string, file = 'rates file'): RateEntry[] {
  const out: RateEntry[] = [];
  const seen = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const bad = (line: number, problem: string): never => {
    throw new SemopsError('RATES_FILE_INVALID', `${file}, line ${line}: ${problem}. No rate was changed.`, {
      file,
      line,
      problem,
    });
  };
  lines.forEach((raw, i) => {
    const line = i + 1;
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return;
    const fields = text.split(',').map((f) => f.trim());
    if (out.length === 0 && fields.join(',').toLowerCase() === 'base,quote,rate') return;
    if (fields.length !== 3)
      bad(line, `expected base,quote,rate (e.g. EUR,HUF,392.45), got ${fields.length} fields`);
    const e = { base: fields[0]!.toUpperCase(), quote: fields[1]!.toUpperCase(), rate: fields[2]! };
    const problem = rateProblem(e);
    if (problem) bad(line, problem);
    const first = seen.get(pairKey(e));
    if (first !== undefined) bad(line, `${pairKey(e)} is already given on line ${first}`);
    seen.set(pairKey(e), line);
    out.push(e);
  });
  if (out.length === 0) bad(lines.length, 'the file holds no rate');
  return out;
}
