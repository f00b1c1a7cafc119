/**
 * The FX flags of `main.ts` (`--rates-file`, `--fx-spread-bps`, `--fx-fee CUR:MINOR` repeatable,
 * `--quote-ttl-ms`) turned into `FxOptions`. Only the flags given appear in the result, so that a restart
 * without, say, `--fx-fee` keeps the fee map in force instead of replacing it with an empty one.
 */
import { resolve } from 'node:path';
import { checkFxConfig, type FxOptions } from './service.js';

export interface FxFlags {
  readonly ratesFile?: string | undefined;
  readonly spreadBps?: string | undefined;
  readonly fees?: readonly string[] | undefined;
  readonly quoteTtlMs?: string | undefined;
}

/**
 * The FX options of the flags given, or undefined when none is. Throws an Error whose message names the bad
 * flag.
 * @example fxOptionsFromFlags({ spreadBps: '50' }) // { spreadBps: 50 }
 */
export function fxOptionsFromFlags(f: FxFlags): FxOptions | undefined {
  const fees = f.fees ?? [];
  if (
    f.ratesFile === undefined &&
    f.spreadBps === undefined &&
    fees.length === 0 &&
    f.quoteTtlMs === undefined
  ) {
    return undefined;
  }
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new Error(`--${name} takes a whole number, not ${JSON.stringify(v)}`);
    return Number(v);
  };
  const feeFixed: Record<string, string> = {};
  for (const fee of fees) {
    const m = /^([A-Z]{3}):(\d+)$/.exec(fee);
    if (!m) {
      throw new Error(
        `--fx-fee takes CUR:MINOR_UNITS such as HUF:10000 (100.00 HUF), not ${JSON.stringify(fee)}`,
      );
    }
    feeFixed[m[1]!] = BigInt(m[2]!).toString();
  }
  const spreadBps = int('fx-spread-bps', f.spreadBps);
  const quoteTtlMs = int('quote-ttl-ms', f.quoteTtlMs);
  const opts: FxOptions = {
    ...(f.ratesFile ? { ratesFile: resolve(f.ratesFile) } : {}),
    ...(spreadBps !== undefined ? { spreadBps } : {}),
    // Given, the fees make up the whole map; left out, the map in force stays.
    ...(fees.length > 0 ? { feeFixed } : {}),
    ...(quoteTtlMs !== undefined ? { quoteTtlMs } : {}),
  };
  try {
    checkFxConfig(opts);
  } catch (e) {
    throw new Error(`bad FX flag: ${(e as Error).message}`);
  }
  return opts;
}
