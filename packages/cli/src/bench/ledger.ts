// `semops bench ledger`: payments per second through the ledger on SQLite and PostgreSQL.
//
// A payment is what a processor does for it: a pending transfer (the hold) and, once that has
// answered, its post, each in an `execute` call of its own. Many clients run payments at once, so
// the ledger's group commit can put many commands into one database transaction. Each store is then
// run again, on the same database, with `maxBatch: 1` (one command per transaction): the naive
// baseline that shows what group commit buys.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createPostgresLedger,
  createScratchSchema,
  createSqliteLedger,
  openDatabase,
  type Ledger,
  type LedgerCommand,
} from '@semops/ledger';
import { newId } from '@semops/protocol';

/** The figures of one store. */
export interface LedgerBenchFigures {
  /** Payments (hold + post) completed per second with group commit. */
  readonly paymentsPerSec: number;
  /** Median latency of one `execute` call (hold or post), in milliseconds. */
  readonly p50Ms: number;
  /** 99th percentile latency of one `execute` call, in milliseconds. */
  readonly p99Ms: number;
  /** Payments per second with one command per database transaction (`maxBatch: 1`). */
  readonly baselinePaymentsPerSec: number;
  /** Peak resident memory of this process while the store ran, in MB (the database server's is not counted). */
  readonly peakRssMb: number;
}

export interface LedgerBenchResult {
  readonly sqlite: LedgerBenchFigures;
  /** Left out when no PostgreSQL is reachable. */
  readonly postgres?: LedgerBenchFigures;
}

export interface LedgerBenchOptions {
  /** Measured seconds of the group-commit run, per store (default 10). */
  readonly seconds?: number;
  /** Measured seconds of the baseline run, per store (default: half of `seconds`, at most 5). */
  readonly baselineSeconds?: number;
  /** Concurrent clients, each running one payment after the other (default 1024). */
  readonly clients?: number;
  /** Customer accounts (default 10,000). */
  readonly accounts?: number;
  /** Default: `SEMOPS_TEST_PG_URL`, else `postgres://postgres@127.0.0.1:5432/test`. */
  readonly postgresUrl?: string;
  /** Which stores to run (default both; PostgreSQL only when reachable). */
  readonly stores?: ReadonlyArray<'sqlite' | 'postgres'>;
  /** Receives a progress line about once a second. */
  readonly progress?: (line: string) => void;
}

const CURRENCY = 'KES';
/** Share of payments credited to the one hot merchant account. */
const HOT_SHARE = 0.1;
const WARMUP_MS = 1000;

interface Target {
  readonly name: 'sqlite' | 'postgres';
  /** Opens a ledger on the benchmark's database; `maxBatch` 1 is the baseline. */
  open(maxBatch?: number): Promise<{ ledger: Ledger; close(): Promise<void> }>;
  dispose(): Promise<void>;
}

interface Accounts {
  readonly funding: string;
  readonly hot: string;
  readonly customers: readonly string[];
}

/** Latencies in milliseconds, kept in a growable typed array (no per-sample object). */
class Samples {
  private data = new Float64Array(1 << 16);
  private n = 0;
  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }
  percentile(p: number): number {
    if (this.n === 0) return 0;
    const sorted = this.data.slice(0, this.n).sort();
    return sorted[Math.min(this.n - 1, Math.floor((p / 100) * this.n))] ?? 0;
  }
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const rssMb = (): number => process.memoryUsage.rss() / 1024 / 1024;

async function setUp(ledger: Ledger, count: number): Promise<Accounts> {
  const funding = newId('acc');
  const hot = newId('acc');
  const customers = Array.from({ length: count }, () => newId('acc'));
  const open = (id: string, rule: 'none' | 'debits_must_not_exceed_credits', code: string): LedgerCommand => ({
    kind: 'createAccount',
    id,
    currency: CURRENCY,
    rule,
    code,
  });
  const commands: LedgerCommand[] = [
    open(funding, 'none', 'funding'),
    open(hot, 'debits_must_not_exceed_credits', 'merchant'),
  ];
  for (const id of customers) {
    commands.push(open(id, 'debits_must_not_exceed_credits', 'customer'), {
      kind: 'transfer',
      id: newId('tr'),
      debitAccountId: funding,
      creditAccountId: id,
      amount: 100_000_000n,
      currency: CURRENCY,
      code: 'deposit',
    });
  }
  // In slices, so that no single transaction is huge.
  for (let i = 0; i < commands.length; i += 5000) {
    const results = await ledger.execute(commands.slice(i, i + 5000));
    const failed = results.find((r) => !r.ok);
    if (failed !== undefined && !failed.ok) throw new Error(`bench set-up failed: ${failed.message}`);
  }
  return { funding, hot, customers };
}

interface Phase {
  readonly payments: number;
  readonly failures: number;
  readonly seconds: number;
  readonly latency: Samples;
  readonly peakRssMb: number;
}

/** Runs `clients` payment loops for warm-up plus `seconds`, counting what completes after warm-up. */
async function runPhase(
  ledger: Ledger,
  accounts: Accounts,
  clients: number,
  seconds: number,
  label: string,
  progress: (line: string) => void,
): Promise<Phase> {
  const latency = new Samples();
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const stopAt = measureFrom + seconds * 1000;
  let payments = 0;
  let failures = 0;
  let peak = rssMb();
  const { customers, hot } = accounts;
  const pick = (): string => customers[Math.floor(Math.random() * customers.length)] ?? hot;

  const client = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const from = pick();
      let to = Math.random() < HOT_SHARE ? hot : pick();
      if (to === from) to = hot;
      const id = newId('pay');
      const t0 = performance.now();
      const [hold] = await ledger.execute([
        {
          kind: 'transfer',
          id,
          debitAccountId: from,
          creditAccountId: to,
          amount: BigInt(1 + Math.floor(Math.random() * 500)),
          currency: CURRENCY,
          pending: true,
          timeoutMs: 120_000,
          code: 'payment',
        },
      ]);
      const t1 = performance.now();
      if (hold?.ok !== true) {
        failures += 1;
        continue;
      }
      const [post] = await ledger.execute([{ kind: 'post', id: `${id}:post`, pendingId: id }]);
      const t2 = performance.now();
      if (post?.ok !== true) failures += 1;
      else if (t0 >= measureFrom && t2 <= stopAt) {
        payments += 1;
        latency.add(t1 - t0);
        latency.add(t2 - t1);
      }
    }
  };

  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb());
    const now = performance.now();
    const elapsed = Math.max(0, Math.min(now, stopAt) - measureFrom) / 1000;
    const rate = elapsed > 0 ? Math.round(payments / elapsed) : 0;
    progress(
      `${label}: ${now < measureFrom ? 'warming up' : `${elapsed.toFixed(0)}/${seconds} s`}, ` +
        `${rate.toLocaleString('en')} payments/s, rss ${rssMb().toFixed(0)} MB`,
    );
  }, 1000);
  try {
    await Promise.all(Array.from({ length: clients }, client));
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, rssMb());
  return { payments, failures, seconds, latency, peakRssMb: peak };
}

async function benchTarget(target: Target, opts: Required<Omit<LedgerBenchOptions, 'postgresUrl' | 'stores'>>) {
  const { progress } = opts;
  const grouped = await target.open();
  let accounts: Accounts;
  let main: Phase;
  try {
    progress(`${target.name}: creating ${opts.accounts.toLocaleString('en')} funded accounts`);
    accounts = await setUp(grouped.ledger, opts.accounts);
    main = await runPhase(grouped.ledger, accounts, opts.clients, opts.seconds, `${target.name} group commit`, progress);
  } finally {
    await grouped.close();
  }
  const naive = await target.open(1);
  let baseline: Phase;
  try {
    baseline = await runPhase(
      naive.ledger,
      accounts,
      opts.clients,
      opts.baselineSeconds,
      `${target.name} baseline (1 command per transaction)`,
      progress,
    );
  } finally {
    await naive.close();
  }
  if (main.failures + baseline.failures > 0) {
    throw new Error(`${target.name}: ${main.failures + baseline.failures} payments failed`);
  }
  const figures: LedgerBenchFigures = {
    paymentsPerSec: Math.round(main.payments / main.seconds),
    p50Ms: round(main.latency.percentile(50)),
    p99Ms: round(main.latency.percentile(99)),
    baselinePaymentsPerSec: Math.round(baseline.payments / baseline.seconds),
    peakRssMb: Math.round(Math.max(main.peakRssMb, baseline.peakRssMb)),
  };
  return figures;
}

function sqliteTarget(): Target {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semops-bench-'));
  const db = openDatabase(path.join(dir, 'ledger.db'));
  return {
    name: 'sqlite',
    async open(maxBatch) {
      const ledger = await createSqliteLedger({ db, ...(maxBatch === undefined ? {} : { maxBatch }) });
      return { ledger, close: () => ledger.close() };
    },
    async dispose() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresTarget(url: string): Promise<Target | undefined> {
  let scratch: Awaited<ReturnType<typeof createScratchSchema>>;
  try {
    scratch = await createScratchSchema(url, 'semops_bench');
  } catch {
    return undefined;
  }
  return {
    name: 'postgres',
    async open(maxBatch) {
      const ledger = await createPostgresLedger({
        pool: url,
        schema: scratch.schema,
        ...(maxBatch === undefined ? {} : { maxBatch }),
      });
      return { ledger, close: () => ledger.close() };
    },
    dispose: () => scratch.drop(),
  };
}

/**
 * Runs the ledger benchmark on SQLite (a file in a temporary directory) and, when reachable, on
 * PostgreSQL (a fresh schema, dropped afterwards).
 *
 * @example
 * const result = await runLedgerBench({ seconds: 5, progress: (l) => process.stderr.write(`${l}\n`) });
 * console.log(result.sqlite.paymentsPerSec, result.postgres?.paymentsPerSec);
 */
export async function runLedgerBench(opts: LedgerBenchOptions = {}): Promise<LedgerBenchResult> {
  const seconds = opts.seconds ?? 10;
  if (!(seconds > 0)) throw new RangeError('seconds must be positive');
  const settings = {
    seconds,
    baselineSeconds: opts.baselineSeconds ?? Math.min(5, Math.max(1, seconds / 2)),
    clients: opts.clients ?? 1024,
    accounts: opts.accounts ?? 10_000,
    progress: opts.progress ?? (() => {}),
  };
  const stores = opts.stores ?? ['sqlite', 'postgres'];
  const url = opts.postgresUrl ?? process.env.SEMOPS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

  let sqlite: LedgerBenchFigures | undefined;
  if (stores.includes('sqlite')) {
    const target = sqliteTarget();
    try {
      sqlite = await benchTarget(target, settings);
    } finally {
      await target.dispose();
    }
  }
  let postgres: LedgerBenchFigures | undefined;
  if (stores.includes('postgres')) {
    const target = await postgresTarget(url);
    if (target === undefined) settings.progress(`postgres: not reachable at ${url}, skipped`);
    else {
      try {
        postgres = await benchTarget(target, settings);
      } finally {
        await target.dispose();
      }
    }
  }
  if (sqlite === undefined) throw new Error('the sqlite store must be benchmarked');
  return { sqlite, ...(postgres === undefined ? {} : { postgres }) };
}
