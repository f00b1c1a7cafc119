// `semops bench e2e`: complete payments per second through a real network, and what each node spends on one.
//
// A fresh network (hub, bank-a, mno-b: separate OS processes, real HTTP) in a temporary directory. Each
// payment is what a merchant and a customer's phone do: the merchant at mno-b creates a request with its
// API key, a customer of bank-a resolves its QR payload through /v1/wallet/resolve, approves with a
// device-signed approval carrying the PIN as a JWE, and polls until the payment is final. Closed-loop
// workers (one payment after the other) run at each concurrency level for a warm-up and then the measured
// seconds; the CPU time of every node process (/proc/<pid>/stat) and of this generator is read at both
// ends of the measured seconds and divided by the payments completed within them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PaymentRequest } from '@semops/merchant-sdk';
import type { MoneyWire } from '@semops/protocol';
import { Wallet, type PaymentView, type ResolvedRequest } from '../clients-wallet.js';
import { SettlementAdmin } from '../clients-settlement.js';
import { DEMO_FEES } from '../demo.js';
import { DEMO_PROCESSORS, startNetwork, type Network, type ProcessorSpec } from '../network.js';
import { dropSchemas } from '../pg-schemas.js';
import { processCpuMs, type CpuSnapshot } from './cpu.js';
import { BenchHttp, codeOfError } from './http.js';
import { Samples } from './ledger.js';
import { BENCH_PIN, BenchPhone } from './phone.js';

/** CPU milliseconds one payment cost each process, over the measured seconds; null where /proc is missing. */
export interface CpuPerPayment {
  readonly hub: number | null;
  /** bank-a, the payer's processor. */
  readonly payer: number | null;
  /** mno-b, the merchant's processor. */
  readonly payee: number | null;
  /** This process: the merchant and wallet clients. */
  readonly generator: number;
}

/** The figures of one concurrency level. */
export interface E2eRun {
  readonly concurrency: number;
  /** Payments that ended COMPLETED within the measured seconds, per second. */
  readonly paymentsPerSec: number;
  /** Median time from the request's creation to the payment's final state, in milliseconds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Payments that failed (warm-up and measured seconds), by error code in `errorCodes`. */
  readonly errors: number;
  readonly errorCodes: Record<string, number>;
  readonly cpuMsPerPayment: CpuPerPayment;
}

export interface E2eBenchResult {
  readonly sqlite: { readonly runs: E2eRun[] };
  /** Only when a PostgreSQL URL was given. */
  readonly postgres?: { readonly runs: E2eRun[] };
}

export interface E2eBenchOptions {
  /** Measured seconds per concurrency level (default 10). */
  readonly seconds?: number;
  /** Warm-up seconds before each level's measured seconds (default a quarter of `seconds`, 0.5 to 2). */
  readonly warmupSeconds?: number;
  /** Concurrent closed-loop workers, one level after the other (default 1, 32, 64). */
  readonly concurrency?: readonly number[];
  /** Paying customers at bank-a, each with its own enrolled device (default 64, or the largest level). */
  readonly payers?: number;
  /** Also run the network on this PostgreSQL database (fresh schemas, dropped afterwards). */
  readonly postgresUrl?: string;
  /** Receives progress lines. */
  readonly progress?: (line: string) => void;
  /** Told where the network runs once it has started (tests check that it is gone afterwards). */
  readonly onNetwork?: (info: { readonly dir: string; readonly pids: readonly number[] }) => void;
}

export const DEFAULT_CONCURRENCY: readonly number[] = [1, 32, 64];
const CURRENCY = 'EUR';
/** Each payer's deposit: 1,000,000,000.00 EUR, more than any run spends. */
const PAYER_FUNDS = 100_000_000_000n;
/** bank-a's liquidity at the hub (its net debit cap), far above what a run moves. */
const HUB_LIQUIDITY = 100_000_000_000_000n;
/** A payment still pending after this long counts as an error (TIMEOUT). */
const FINAL_TIMEOUT_MS = 30_000;
/** A worker pauses this long after a failed payment, as a client backs off before trying again. */
const ERROR_PAUSE_MS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses `1,32,64`: positive whole numbers. */
export function parseConcurrency(text: string): number[] {
  const levels = text.split(',').map((s) => Number(s.trim()));
  if (levels.length === 0 || levels.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new RangeError(`--concurrency takes positive whole numbers separated by commas, not ${text}`);
  }
  return levels;
}

// ---- the network ----

interface BenchNetwork {
  readonly net: Network;
  readonly dir: string;
  readonly payerUrl: string;
  readonly payeeUrl: string;
  readonly merchantKey: string;
  readonly phones: readonly BenchPhone[];
  /** hub, payer, payee. */
  readonly pids: ReadonlyArray<number | undefined>;
}

/** The network's processors: bank-a (payers) and mno-b (the merchant), bank-a with ample liquidity. */
function benchProcessors(): ProcessorSpec[] {
  return DEMO_PROCESSORS.filter((p) => p.id === 'bank-a' || p.id === 'mno-b').map((p) =>
    p.id === 'bank-a' ? { ...p, liquidity: HUB_LIQUIDITY } : p,
  );
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T, R>(items: readonly T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** Customers, devices, a merchant and the demo fee schedule, through the operator's and the wallet's APIs. */
async function seedNetwork(net: Network, payers: number): Promise<Omit<BenchNetwork, 'net' | 'dir'>> {
  const bankA = net.processors.get('bank-a')!;
  const mnoB = net.processors.get('mno-b')!;
  await new SettlementAdmin(net.hub.url, net.hub.adminToken).setFees(DEMO_FEES);
  const merchant = await mnoB.admin.createMerchant({
    name: 'Bench Café',
    city: 'Wien',
    category: '5812',
    currency: CURRENCY,
  });
  const info = await bankA.admin.info();
  const stamp = String(Date.now() % 1e5).padStart(5, '0');
  const phones = await inParallel(
    Array.from({ length: payers }, (_, i) => i),
    8,
    async (i) => {
      const phone = `+43660${stamp}${String(i).padStart(4, '0')}`;
      // A bank customer (the default at a bank): no e-money tier limits on what it may spend.
      const c = await bankA.admin.createCustomer({ phone, name: `Bench Payer ${i + 1}`, currency: CURRENCY });
      await bankA.admin.deposit(c.customerId, PAYER_FUNDS);
      const saved = (await Wallet.enrol(bankA.url, phone, c.activationCode, BENCH_PIN)).export();
      return new BenchPhone(saved.deviceId, saved.accessToken, saved.deviceKey, info.encryptionKey);
    },
  );
  return {
    payerUrl: bankA.url,
    payeeUrl: mnoB.url,
    merchantKey: merchant.apiKey,
    phones,
    pids: [net.hub.child.pid, bankA.child.pid, mnoB.child.pid],
  };
}

// ---- one concurrency level ----

async function runLevel(
  bench: BenchNetwork,
  http: BenchHttp,
  concurrency: number,
  seconds: number,
  warmupSeconds: number,
  label: string,
  progress: (line: string) => void,
  halt: { stopped: boolean },
): Promise<E2eRun> {
  const latency = new Samples();
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let payments = 0;
  let stop = false;
  let died: string | undefined;
  const children = [bench.net.hub, ...bench.net.processors.values()];
  const onExit = children.map((n) => {
    const f = () => {
      died = n.id;
      stop = true;
      // Nothing in flight will be answered now: abort it rather than wait for the timeouts.
      void http.destroy().catch(() => undefined);
    };
    n.child.once('exit', f);
    return () => n.child.off('exit', f);
  });

  const t = performance.now();
  const measureFrom = t + warmupSeconds * 1000;
  const stopAt = measureFrom + seconds * 1000;
  let before: CpuSnapshot | undefined;
  let after: CpuSnapshot | undefined;
  const snapshot = (): CpuSnapshot => ({
    nodes: bench.pids.map(processCpuMs),
    generator: process.cpuUsage(),
  });
  let seq = 0;

  const worker = async (w: number): Promise<void> => {
    const phone = bench.phones[w % bench.phones.length]!;
    while (!stop && !halt.stopped) {
      const n = seq++;
      const amount: MoneyWire = { value: String(100 + (n % 1900)), currency: CURRENCY };
      const t0 = performance.now();
      let outcome: string;
      try {
        const req = await http.call<PaymentRequest>(
          'POST',
          `${bench.payeeUrl}/v1/requests`,
          bench.merchantKey,
          {
            currency: CURRENCY,
            amount,
            reference: `bench-${n}`,
          },
        );
        const resolved = await http.call<ResolvedRequest>(
          'POST',
          `${bench.payerUrl}/v1/wallet/resolve`,
          phone.accessToken,
          { code: req.qr },
        );
        let p = await http.call<PaymentView>(
          'POST',
          `${bench.payerUrl}/v1/wallet/payments`,
          phone.accessToken,
          {
            approval: phone.approval(resolved, amount),
          },
        );
        let wait = 5;
        while (p.status === 'PENDING' && performance.now() - t0 < FINAL_TIMEOUT_MS) {
          await sleep(wait);
          wait = Math.min(50, wait * 2);
          p = await http.call<PaymentView>(
            'GET',
            `${bench.payerUrl}/v1/wallet/payments/${p.paymentId}`,
            phone.accessToken,
          );
        }
        outcome =
          p.status === 'COMPLETED' ? 'OK' : p.status === 'PENDING' ? 'TIMEOUT' : (p.error ?? 'FAILED');
      } catch (e) {
        outcome = codeOfError(e);
      }
      const t1 = performance.now();
      if (outcome === 'OK') {
        if (t1 >= measureFrom && t1 <= stopAt) {
          payments += 1;
          latency.add(t1 - t0);
        }
      } else {
        errors += 1;
        errorCodes[outcome] = (errorCodes[outcome] ?? 0) + 1;
        if (!stop && !halt.stopped) await sleep(ERROR_PAUSE_MS);
      }
    }
  };

  // The clock of the run: snapshots at both ends of the measured seconds, a progress line each second.
  const clock = (async () => {
    await sleep(warmupSeconds * 1000);
    before = snapshot();
    const started = payments;
    for (let s = 1; s <= seconds && !stop && !halt.stopped; s++) {
      await sleep(Math.max(0, measureFrom + s * 1000 - performance.now()));
      if (s < seconds) progress(`${label}: ${s}/${seconds} s, ${payments - started} payments`);
    }
    after = snapshot();
    stop = true;
  })();

  try {
    await Promise.all([clock, ...Array.from({ length: concurrency }, (_, w) => worker(w))]);
  } finally {
    onExit.forEach((off) => off());
  }
  if (died !== undefined && !halt.stopped) throw new Error(`${died} exited during the benchmark`);
  const b = before!;
  const a = after!;
  const per = (i: number): number | null => {
    const x = b.nodes[i];
    const y = a.nodes[i];
    return x === null || x === undefined || y === null || y === undefined
      ? null
      : round3((y - x) / Math.max(1, payments));
  };
  const gen = a.generator.user + a.generator.system - (b.generator.user + b.generator.system);
  return {
    concurrency,
    paymentsPerSec: Math.round((payments / seconds) * 10) / 10,
    p50Ms: Number(latency.percentile(50).toFixed(2)),
    p99Ms: Number(latency.percentile(99).toFixed(2)),
    errors,
    errorCodes,
    cpuMsPerPayment: {
      hub: per(0),
      payer: per(1),
      payee: per(2),
      generator: round3(gen / 1000 / Math.max(1, payments)),
    },
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** One run line of the table. */
function formatRun(store: string, r: E2eRun): string {
  const cpu = r.cpuMsPerPayment;
  const ms = (x: number | null) => (x === null ? '    –' : x.toFixed(2).padStart(5));
  const codes = Object.entries(r.errorCodes)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
  return [
    store.padEnd(8),
    String(r.concurrency).padStart(4),
    r.paymentsPerSec.toLocaleString('en').padStart(10),
    r.p50Ms.toFixed(1).padStart(7),
    r.p99Ms.toFixed(1).padStart(7),
    `${ms(cpu.hub)} ${ms(cpu.payer)} ${ms(cpu.payee)} ${ms(cpu.generator)}`,
    `${r.errors}${codes ? ` (${codes})` : ''}`,
  ].join('  ');
}

/** The figures as a table: one line per store and concurrency level. */
export function formatE2eBench(result: E2eBenchResult): string {
  const head = [
    'store   ',
    'conc',
    'payments/s',
    ' p50 ms',
    ' p99 ms',
    'CPU ms/payment: hub payer payee gen',
    'errors',
  ].join('  ');
  const lines = Object.entries(result).flatMap(([store, f]: [string, { runs: E2eRun[] }]) =>
    f.runs.map((r) => formatRun(store, r)),
  );
  return `${[head, ...lines].join('\n')}\n`;
}

/**
 * Starts a network on one store, seeds it, runs every concurrency level and tears it all down: every node
 * process stopped, the temporary directory removed, PostgreSQL schemas dropped — also on an error, and on
 * SIGINT / SIGTERM (then the process exits with 130 / 143 once that is done).
 */
async function benchStore(
  store: 'sqlite' | 'postgres',
  opts: Required<Omit<E2eBenchOptions, 'postgresUrl' | 'onNetwork'>> & Pick<E2eBenchOptions, 'onNetwork'>,
  postgresUrl?: string,
): Promise<{ runs: E2eRun[] }> {
  const { progress } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'semops-bench-e2e-'));
  const schemaPrefix = `bench_${Date.now().toString(36)}_`;
  let starting: Promise<Network> | undefined;
  let net: Network | undefined;
  let http: BenchHttp | undefined;
  let tornDown: Promise<void> | undefined;
  /** Set on teardown: the workers stop at once. */
  const halt = { stopped: false };
  const tearDown = (): Promise<void> =>
    (tornDown ??= (async () => {
      halt.stopped = true;
      await http?.destroy().catch(() => undefined);
      const n = net ?? (await starting?.catch(() => undefined));
      await n?.stop();
      rmSync(dir, { recursive: true, force: true });
      if (postgresUrl) await dropSchemas(postgresUrl, schemaPrefix);
    })());
  // The last resort when the process exits without the above: kill what still runs, remove the directory.
  const onExit = () => {
    for (const n of net ? [net.hub, ...net.processors.values()] : []) {
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping the network`);
    void tearDown()
      .catch(() => undefined)
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    progress(`${store}: starting hub, bank-a and mno-b in ${dir}`);
    starting = startNetwork({
      dir,
      processors: benchProcessors(),
      ...(postgresUrl ? { databaseUrl: postgresUrl, schemaPrefix } : {}),
    });
    net = await starting;
    progress(`${store}: enrolling ${opts.payers} payers with their own device keys`);
    const seeded = await seedNetwork(net, opts.payers);
    const bench: BenchNetwork = { net, dir, ...seeded };
    opts.onNetwork?.({ dir, pids: bench.pids.filter((p): p is number => p !== undefined) });
    http = new BenchHttp(FINAL_TIMEOUT_MS);
    const runs: E2eRun[] = [];
    for (const c of opts.concurrency) {
      const label = `${store} concurrency ${c}`;
      progress(`${label}: ${opts.warmupSeconds} s warm-up, ${opts.seconds} s measured`);
      const r = await runLevel(bench, http, c, opts.seconds, opts.warmupSeconds, label, progress, halt);
      progress(formatRun(store, r));
      runs.push(r);
    }
    return { runs };
  } finally {
    await tearDown();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Runs the end-to-end benchmark on SQLite and, when `postgresUrl` is given, on PostgreSQL.
 *
 * @example
 * const r = await runE2eBench({ seconds: 5, concurrency: [1, 32], progress: (l) => process.stderr.write(`${l}\n`) });
 * console.log(r.sqlite.runs[1]?.paymentsPerSec);
 */
export async function runE2eBench(opts: E2eBenchOptions = {}): Promise<E2eBenchResult> {
  const seconds = opts.seconds ?? 10;
  const warmupSeconds = opts.warmupSeconds ?? Math.min(2, Math.max(0.5, seconds / 4));
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const payers = opts.payers ?? Math.max(64, ...concurrency);
  for (const [name, value] of Object.entries({ seconds, payers })) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  }
  if (!Number.isFinite(warmupSeconds) || warmupSeconds < 0) {
    throw new RangeError('warmupSeconds must not be negative');
  }
  if (concurrency.length === 0 || concurrency.some((c) => !Number.isInteger(c) || c <= 0)) {
    throw new RangeError('concurrency levels must be positive whole numbers');
  }
  const settings = {
    seconds,
    warmupSeconds,
    concurrency,
    payers,
    progress: opts.progress ?? (() => {}),
    ...(opts.onNetwork ? { onNetwork: opts.onNetwork } : {}),
  };
  const sqlite = await benchStore('sqlite', settings);
  if (!opts.postgresUrl) return { sqlite };
  return { sqlite, postgres: await benchStore('postgres', settings, opts.postgresUrl) };
}
