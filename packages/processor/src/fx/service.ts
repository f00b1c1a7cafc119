/**
 * The converting (payer) processor's FX desk: mid rates (a table set by the operator or a rates file reloaded
 * when it changes), its spread and fixed fee, and quotes — a conversion fixed for a short time, shown to the
 * customer before the PIN and applied to at most one payment. The arithmetic is `quote()` of
 * `@semops/protocol` (exact, rounding documented in docs/settlement.md); this service only stores and finds.
 * Everything lives in the database so that all instances of a processor quote alike.
 */
import { stat, readFile } from 'node:fs/promises';
import type { Sql, Log } from '@semops/node';
import {
  SemopsError,
  formatAmount,
  newId,
  parseRate,
  quote as fxQuote,
  rateFor,
  type FxRate,
  type Money,
} from '@semops/protocol';
import { parseRatesFile, type RateEntry } from './rates.js';
import {
  QUOTE_RETENTION_MS,
  checkFxConfig,
  checkRateList,
  toStored,
  type ConfigRow,
  type FxOptions,
  type QuoteRow,
  type RateRow,
  type StoredQuote,
} from './model.js';

export {
  DEFAULT_QUOTE_TTL_MS,
  MAX_QUOTE_TTL_MS,
  MIN_QUOTE_TTL_MS,
  QUOTE_PURGE_INTERVAL_MS,
  QUOTE_RETENTION_MS,
  checkFxConfig,
  checkRateList,
  quoteView,
  type FxOptions,
  type FxQuoteView,
  type StoredQuote,
} from './model.js';

export function createFxService(deps: {
  q: Sql;
  now: () => number;
  log: Log;
  options?: FxOptions;
  /**
   * A further instance of a processor already running on the same database (`--instance`): it applies none
   * of its start options (see `init`).
   */
  furtherInstance?: boolean;
}) {
  const { q, now, log } = deps;
  const opts = deps.options;
  /** The modification time of a bad file already reported, so that the poll logs it once. */
  let badMtime: number | undefined;

  async function config(): Promise<ConfigRow> {
    const c = await q.one<ConfigRow>`SELECT * FROM fx_config WHERE id = 1`;
    if (!c) throw new SemopsError('INTERNAL', 'fx_config is missing');
    return c;
  }

  const ratesFileOf = async () => opts?.ratesFile ?? (await config()).rates_file ?? undefined;

  async function replaceRates(rates: readonly RateEntry[], source: RateRow['source']): Promise<void> {
    const t = now();
    await q.tx(async (tx) => {
      await tx.run`DELETE FROM fx_rates`;
      for (const r of rates) {
        await tx.run`INSERT INTO fx_rates (base, quote, rate, source, updated_at)
          VALUES (${r.base}, ${r.quote}, ${r.rate}, ${source}, ${t})`;
      }
    });
  }

  /**
   * Reads and applies the rates file. A file that cannot be read or parsed changes nothing: the error is
   * recorded (GET /v1/admin/fx shows it) and thrown as RATES_FILE_INVALID with the line.
   *
   * With `ifNew` (the poll, a further instance's start) the file is applied only if this version of it
   * (path and modification time) is not the one loaded last, decided in the same transaction as the write:
   * a poll that saw the file change but lost the race to another load (an operator's reload, another
   * instance's poll) does not apply it a second time over rates the operator set since. False when skipped.
   */
  async function loadFile(file: string, ifNew = false): Promise<boolean> {
    let mtime: number;
    let rates: RateEntry[];
    try {
      mtime = Math.floor((await stat(file)).mtimeMs);
      rates = parseRatesFile(await readFile(file, 'utf8'), file);
    } catch (e) {
      const err =
        e instanceof SemopsError
          ? e
          : new SemopsError(
              'RATES_FILE_INVALID',
              `${file}: cannot be read (${(e as Error).message}). No rate was changed.`,
              {
                file,
                line: 0,
                problem: 'cannot be read',
              },
            );
      await q.run`UPDATE fx_config SET file_error = ${err.message} WHERE id = 1`;
      throw err;
    }
    const t = now();
    const applied = await q.tx(async (tx) => {
      // The config row first: it serialises loads (also between instances) and decides for `ifNew`.
      const n = ifNew
        ? await tx.run`UPDATE fx_config SET rates_file = ${file}, rates_mtime = ${mtime}, loaded_at = ${t},
              file_error = NULL
            WHERE id = 1 AND (rates_mtime IS NULL OR rates_mtime <> ${mtime} OR rates_file IS NULL
              OR rates_file <> ${file})`
        : await tx.run`UPDATE fx_config SET rates_file = ${file}, rates_mtime = ${mtime}, loaded_at = ${t},
              file_error = NULL WHERE id = 1`;
      if (n !== 1) return false;
      await tx.run`DELETE FROM fx_rates`;
      for (const r of rates) {
        await tx.run`INSERT INTO fx_rates (base, quote, rate, source, updated_at)
          VALUES (${r.base}, ${r.quote}, ${r.rate}, 'file', ${t})`;
      }
      return true;
    });
    badMtime = undefined;
    if (applied) log.info({ file, rates: rates.length }, 'rates file loaded');
    return applied;
  }

  /** Reloads the file when its modification time differs from the one last loaded (by any instance). */
  async function poll(): Promise<void> {
    const file = opts?.ratesFile;
    if (!file) return;
    let mtime: number;
    try {
      mtime = Math.floor((await stat(file)).mtimeMs);
    } catch {
      return; // being replaced, or gone: keep the rates in force
    }
    const loaded = (await config()).rates_mtime;
    if (loaded !== null && Number(loaded) === mtime) return;
    if (badMtime === mtime) return;
    try {
      await loadFile(file, true);
    } catch (e) {
      badMtime = mtime;
      log.warn({ err: (e as Error).message }, 'rates file refused; the rates in force are kept');
    }
  }

  async function rateRow(a: string, b: string): Promise<RateRow | undefined> {
    return q.one<RateRow>`SELECT base, quote, rate, source FROM fx_rates
      WHERE (base = ${a} AND quote = ${b}) OR (base = ${b} AND quote = ${a})`;
  }

  const service = {
    /**
     * Applies the start options. Spread, fee map and quote validity are written only when given: a flag left
     * out keeps what the database holds (the last start's value, or the operator's `PUT /v1/admin/fx/config`
     * since), so a restart never undoes the operator's change.
     *
     * Rates: the rates file, when given, is loaded at every start of the first instance and wins over rates
     * the operator set with `PUT /v1/admin/fx/rates` since (as a reload or a change of the file does); else
     * the `rates` given replace the table. An invalid file changes nothing: with rates in force (a restart,
     * after a crash say) the processor starts with them and reports the file (GET /v1/admin/fx, and the poll
     * loads it once fixed); without any rate (a new processor) the start stops with RATES_FILE_INVALID.
     *
     * A further instance (`furtherInstance`, `--instance`) joins a processor that is already running: it
     * applies none of its options to the shared settings. It only loads the rates file if the file changed
     * since it was last loaded — what the poll of every instance does anyway —, so that an unchanged file does
     * not undo the operator's rates; a bad file is then logged and reported, the rates in force are kept.
     */
    async init(): Promise<void> {
      if (!opts) return;
      checkFxConfig(opts);
      if (opts.rates) checkRateList(opts.rates);
      if (deps.furtherInstance) {
        if (
          opts.spreadBps !== undefined ||
          opts.feeFixed !== undefined ||
          opts.quoteTtlMs !== undefined ||
          opts.rates !== undefined
        ) {
          log.info('further instance: FX start options are not applied; the settings in the database stand');
        }
        if (opts.ratesFile) await poll();
        return;
      }
      if (opts.spreadBps !== undefined || opts.feeFixed !== undefined || opts.quoteTtlMs !== undefined) {
        await service.setConfig({
          ...(opts.spreadBps !== undefined ? { spreadBps: opts.spreadBps } : {}),
          ...(opts.feeFixed !== undefined ? { feeFixed: { ...opts.feeFixed } } : {}),
          ...(opts.quoteTtlMs !== undefined ? { quoteTtlMs: opts.quoteTtlMs } : {}),
        });
      }
      if (opts.ratesFile) {
        try {
          await loadFile(opts.ratesFile);
        } catch (e) {
          const inForce = await q.one<{ base: string }>`SELECT base FROM fx_rates LIMIT 1`;
          if (!(e instanceof SemopsError) || e.code !== 'RATES_FILE_INVALID' || !inForce) throw e;
          // Reported once: the poll skips this version of the file.
          badMtime = await stat(opts.ratesFile).then(
            (st) => Math.floor(st.mtimeMs),
            () => undefined,
          );
          log.warn({ err: e.message }, 'rates file refused at start; the rates in force are kept');
        }
      } else if (opts.rates) await replaceRates(opts.rates, 'config');
    },

    /**
     * Deletes the quotes nobody used that expired more than `retentionMs` ago (default a day); a quote a
     * payment took is kept. Returns how many were deleted.
     */
    async purge(retentionMs = QUOTE_RETENTION_MS): Promise<number> {
      const n =
        await q.run`DELETE FROM fx_quotes WHERE payment_id IS NULL AND expires_at < ${now() - retentionMs}`;
      if (n > 0) log.info({ quotes: n }, 'expired quotes purged');
      return n;
    },

    /** What GET /v1/admin/fx shows. */
    async settings() {
      const c = await config();
      const rates = await q.all<RateRow>`SELECT base, quote, rate, source FROM fx_rates ORDER BY base, quote`;
      return {
        rates: rates.map((r) => ({ base: r.base, quote: r.quote, rate: r.rate, source: r.source })),
        spreadBps: Number(c.spread_bps),
        feeFixed: JSON.parse(c.fee_fixed) as Record<string, string>,
        quoteTtlMs: Number(c.quote_ttl_ms),
        ...(c.rates_file ? { ratesFile: c.rates_file } : {}),
        ...(c.loaded_at !== null ? { loadedAt: Number(c.loaded_at) } : {}),
        ...(c.file_error ? { ratesFileError: c.file_error } : {}),
      };
    },

    /**
     * Replaces the rates table (the operator's rates win until the rates file changes or is reloaded, or the
     * first instance restarts with it). An empty list is refused (VALIDATION_FAILED).
     */
    async setRates(rates: readonly RateEntry[]) {
      await replaceRates(checkRateList(rates), 'admin');
      return service.settings();
    },

    /** Changes spread, fee (the whole map) or quote validity; quotes already given keep theirs. */
    async setConfig(change: { spreadBps?: number; feeFixed?: Record<string, string>; quoteTtlMs?: number }) {
      checkFxConfig(change);
      const c = await config();
      await q.run`UPDATE fx_config SET spread_bps = ${change.spreadBps ?? Number(c.spread_bps)},
          fee_fixed = ${change.feeFixed ? JSON.stringify(change.feeFixed) : c.fee_fixed},
          quote_ttl_ms = ${change.quoteTtlMs ?? Number(c.quote_ttl_ms)}, updated_at = ${now()} WHERE id = 1`;
      return service.settings();
    },

    /** Re-reads the rates file now; a bad file changes nothing and throws RATES_FILE_INVALID. */
    async reload() {
      const file = await ratesFileOf();
      if (!file) {
        throw new SemopsError(
          'VALIDATION_FAILED',
          'No rates file is configured; start the processor with --rates-file PATH.',
        );
      }
      await loadFile(file);
      return service.settings();
    },

    /**
     * Reloads the rates file when it changed since it was last loaded (by any instance); a file that does not
     * parse is refused and the rates in force are kept. The node runs it every `pollMs` (`startLoop`).
     */
    poll,

    /** The mid rate for converting between two currencies, or RATE_NOT_AVAILABLE. */
    async rate(from: string, to: string): Promise<FxRate> {
      const r = await rateRow(from, to);
      if (!r) {
        throw new SemopsError(
          'RATE_NOT_AVAILABLE',
          `There is no exchange rate between ${from} and ${to} here; this request cannot be paid from a ${to} account.`,
          { from, to },
        );
      }
      return { base: r.base, quote: r.quote, rate: parseRate(r.rate) };
    },

    /** The fixed fee a customer in `currency` pays for a conversion. */
    async feeFor(currency: string): Promise<Money> {
      const fees = JSON.parse((await config()).fee_fixed) as Record<string, string>;
      return { value: BigInt(fees[currency] ?? '0'), currency };
    },

    /**
     * The quote to show a customer whose account is in `payerCurrency` for paying `amount` (the request's
     * currency): an unused quote of theirs for exactly this request, payee and amount that still holds for at
     * least half of its validity — so that resolving again, asking again or showing a screen again does not
     * pile up quotes, and the customer always has time to answer —, else a new one, stored.
     * RATE_NOT_AVAILABLE when a new one is needed and no rate joins the two currencies.
     */
    async offer(input: {
      customerId: string;
      requestId: string;
      payee: string;
      amount: Money;
      payerCurrency: string;
    }): Promise<StoredQuote> {
      const t = now();
      const unused = await q.one<QuoteRow>`SELECT * FROM fx_quotes WHERE customer_id = ${input.customerId}
          AND request_id = ${input.requestId} AND payee = ${input.payee}
          AND amount = ${input.amount.value.toString()} AND currency = ${input.amount.currency}
          AND payer_currency = ${input.payerCurrency} AND payment_id IS NULL
          AND quoted_at <= ${t} AND 2 * (expires_at - ${t}) >= expires_at - quoted_at
        ORDER BY expires_at DESC, id DESC LIMIT 1`;
      if (unused) return toStored(unused);
      const mid = await service.rate(input.amount.currency, input.payerCurrency);
      const c = await config();
      const fee = {
        value: BigInt((JSON.parse(c.fee_fixed) as Record<string, string>)[input.payerCurrency] ?? '0'),
        currency: input.payerCurrency,
      };
      let fq;
      try {
        fq = fxQuote(
          {
            amount: input.amount,
            payerCurrency: input.payerCurrency,
            rate: mid,
            spreadBps: Number(c.spread_bps),
            feeFixed: fee,
            validForMs: Number(c.quote_ttl_ms),
          },
          t,
        );
      } catch (e) {
        if (e instanceof RangeError) {
          throw new SemopsError(
            'VALIDATION_FAILED',
            `${formatAmount(input.amount.value, input.amount.currency)} ${input.amount.currency} cannot be converted: ${e.message}.`,
          );
        }
        throw e;
      }
      const midRate = rateFor(mid, input.amount.currency, input.payerCurrency);
      const id = newId('fxq', t);
      const row: QuoteRow = {
        id,
        customer_id: input.customerId,
        request_id: input.requestId,
        payee: input.payee,
        amount: input.amount.value.toString(),
        currency: input.amount.currency,
        payer_currency: input.payerCurrency,
        payer_amount: fq.payerAmount.value.toString(),
        fee: fq.fee.value.toString(),
        total: fq.total.value.toString(),
        position_credit: fq.legs.fxPositionCredit.value.toString(),
        margin_credit: fq.legs.fxMarginCredit.value.toString(),
        rate_num: fq.rate.rate.num.toString(),
        rate_den: fq.rate.rate.den.toString(),
        mid_num: midRate.num.toString(),
        mid_den: midRate.den.toString(),
        rate_shown: fq.rateShown,
        quoted_at: fq.quotedAt,
        expires_at: fq.expiresAt,
        payment_id: null,
      };
      await q.run`INSERT INTO fx_quotes (id, customer_id, request_id, payee, amount, currency, payer_currency,
          payer_amount, fee, total, position_credit, margin_credit, rate_num, rate_den, mid_num, mid_den,
          rate_shown, quoted_at, expires_at)
        VALUES (${row.id}, ${row.customer_id}, ${row.request_id}, ${row.payee}, ${row.amount}, ${row.currency},
          ${row.payer_currency}, ${row.payer_amount}, ${row.fee}, ${row.total}, ${row.position_credit},
          ${row.margin_credit}, ${row.rate_num}, ${row.rate_den}, ${row.mid_num}, ${row.mid_den},
          ${row.rate_shown}, ${row.quoted_at}, ${row.expires_at})`;
      return toStored(row);
    },

    async get(id: string): Promise<StoredQuote | undefined> {
      const r = await q.one<QuoteRow>`SELECT * FROM fx_quotes WHERE id = ${id}`;
      return r ? toStored(r) : undefined;
    },

    /**
     * Marks a quote used by a payment, in the caller's transaction: only once, and only while it holds.
     * False when another payment took it first or it expired.
     */
    async claim(tx: Sql, quoteId: string, paymentId: string, at: number): Promise<boolean> {
      const n = await tx.run`UPDATE fx_quotes SET payment_id = ${paymentId}
        WHERE id = ${quoteId} AND payment_id IS NULL AND quoted_at <= ${at} AND expires_at > ${at}`;
      return n === 1;
    },

    /** Gives a quote back when its payment failed before any money moved (wrong PIN, limit, funds). */
    async release(quoteId: string, paymentId: string, on: Sql = q): Promise<void> {
      await on.run`UPDATE fx_quotes SET payment_id = NULL WHERE id = ${quoteId} AND payment_id = ${paymentId}`;
    },
  };
  return service;
}

export type FxService = ReturnType<typeof createFxService>;
