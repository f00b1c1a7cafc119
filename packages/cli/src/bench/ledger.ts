// `semops bench ledger`: payments per second through the ledger, on SQLite and on PostgreSQL.
//
// A payment is what a processor does for it: a pending transfer (the hold) and, once that has
// answered, its post, each in an `execute` call of its own. Many clients run payments at once, so the
// ledger's group commit can put many commands into one database transaction. Each store is then run
// again on the same database with `maxBatch: 1`, one command per transaction: the naive baseline that
// shows what group commit buys.
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
  /** Peak resident memory of this process while the store ran, in MB (a database server's is not counted). */
  readonly peakRssMb: number;
}

export interface LedgerBenchResult {
  readonly sqlite: LedgerBenchFigures;
  /** Left out when no PostgreSQL is reachable. */
  readonly postgres?: LedgerBenchFigures;
}

export interface LedgerBenchOptions {
  /** Measured seconds of the group-commit run, per store (default 8). */
  readonly seconds?: number;
  /** Measured seconds of the baseline run, per store (default: half of `seconds`, at most 4). */
  readonly baselineSeconds?: number;
  /** Concurrent clients, each running one payment after the other (default 1024). */
  readonly clients?: number;
  /** Customer accounts (default 10,000). */
  readonly accounts?: number;
  /** Default: `SEMOPS_TEST_PG_URL`, else `postgres://postgres@127.0.0.1:5432/test`. */
  readonly postgresUrl?: string;
  /** Receives a progress line about once a second. */
  readonly progress?: (line: string) => void;
}

const CURRENCY = 'KES';
/** Share of payments credited to the one hot merchant account; the others pay another customer. */
const HOT_SHARE = 0.1;
const WARMUP_MS = 1000;
/**
 * Clients of the baseline. Its transactions run one at a time whatever the number of clients, so a few
 * keep it busy, and stopping does not wait for a thousand queued transactions.
 */
const BASELINE_CLIENTS = 64;
const ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Ids shaped like the processor's (`pay_`, 10 characters of millisecond time, 16 random ones: they sort
 * by creation, so the id index grows at its end), but drawn from Math.random: the crypto generator
 * would cost the client a few microseconds an id on the ledger's thread.
 */
function benchId(prefix: string): string {
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ID_ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let tail = '';
  for (let i = 0; i < 16; i++) tail += ID_ALPHABET[Math.floor(Math.random() * 32)]!;
  return `${prefix}_${time}${tail}`;
}

interface Target {
  readonly name: 'sqlite' | 'postgres';
  /** Opens a ledger on the benchmark's database; `maxBatch` 1 is the baseline. */
  open(maxBatch?: number): Promise<Ledger>;
  dispose(): Promise<void>;
}

interface Accounts {
  readonly hot: string;
  readonly customers: readonly string[];
}

/** Latencies in milliseconds, in a growable typed array (no object per sample). */
export class Samples {
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

const rssMb = (): number => process.memoryUsage.rss() / 1024 / 1024;

/** A funding account, a hot merchant and `count` customers with 1,000,000.00 each. */
async function setUp(ledger: Ledger, count: number): Promise<Accounts> {
  const funding = benchId('acc');
  const hot = benchId('acc');
  const customers = Array.from({ length: count }, () => benchId('acc'));
  const open = (
    id: string,
    rule: 'none' | 'debits_must_not_exceed_credits',
    code: string,
  ): LedgerCommand => ({
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
      id: benchId('tr'),
      debitAccountId: funding,
      creditAccountId: id,
      amount: 100_000_000n,
      currency: CURRENCY,
      code: 'deposit',
    });
  }
  for (let i = 0; i < commands.length; i += 4096) {
    const failed = (await ledger.execute(commands.slice(i, i + 4096))).find((r) => !r.ok);
    if (failed !== undefined && !failed.ok) throw new Error(`bench set-up failed: ${failed.message}`);
  }
  return { hot, customers };
}

interface Phase {
  readonly paymentsPerSec: number;
  readonly latency: Samples;
  readonly peakRssMb: number;
}

/**
 * Runs `clients` payment loops for a warm-up second and `seconds` more. Counts the payments whose post
 * answered within the measured seconds, and the latency of the calls that answered within them.
 */
async function runPhase(
  ledger: Ledger,
  accounts: Accounts,
  clients: number,
  seconds: number,
  label: string,
  progress: (line: string) => void,
): Promise<Phase> {
  const latency = new Samples();
  const measureFrom = performance.now() + WARMUP_MS;
  const stopAt = measureFrom + seconds * 1000;
  const measured = (t: number): boolean => t >= measureFrom && t <= stopAt;
  let payments = 0;
  let failure: string | undefined;
  let peak = rssMb();
  // This process's CPU time over the measured seconds.
  let cpuStart: NodeJS.CpuUsage | undefined;
  let cpuUsed: NodeJS.CpuUsage | undefined;
  const cpuTimers = [
    setTimeout(() => (cpuStart = process.cpuUsage()), WARMUP_MS),
    setTimeout(() => (cpuUsed = process.cpuUsage(cpuStart)), WARMUP_MS + seconds * 1000),
  ];
  const { customers, hot } = accounts;
  const pick = (): string => customers[Math.floor(Math.random() * customers.length)] ?? hot;

  const client = async (): Promise<void> => {
    while (failure === undefined && performance.now() < stopAt) {
      const from = pick();
      let to = Math.random() < HOT_SHARE ? hot : pick();
      if (to === from) to = hot;
      const id = benchId('pay');
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
      const [post] = await ledger.execute([{ kind: 'post', id: `${id}:post`, pendingId: id }]);
      const t2 = performance.now();
      if (hold?.ok !== true || post?.ok !== true) {
        failure = `${label}: a payment failed: ${hold?.ok === false ? hold.message : post?.ok === false ? post.message : 'no result'}`;
        return;
      }
      if (measured(t1)) latency.add(t1 - t0);
      if (measured(t2)) {
        latency.add(t2 - t1);
        payments += 1;
      }
    }
  };

  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb());
  }, 100);
  const ticker = setInterval(() => {
    const elapsed = (Math.min(performance.now(), stopAt) - measureFrom) / 1000;
    if (elapsed < 0.5) return;
    progress(
      `${label}: ${elapsed.toFixed(0)}/${seconds} s, ${Math.round(payments / elapsed).toLocaleString('en')} payments/s, ` +
        `rss ${rssMb().toFixed(0)} MB`,
    );
  }, 1000);
  try {
    await Promise.all(Array.from({ length: clients }, client));
  } finally {
    clearInterval(sampler);
    clearInterval(ticker);
    cpuTimers.forEach(clearTimeout);
  }
  if (failure !== undefined) throw new Error(failure);
  // When the timer came late (the last batch held the event loop), measure now.
  const cpu = cpuUsed ?? process.cpuUsage(cpuStart);
  const paymentsPerSec = Math.round(payments / seconds);
  const cpuPerPayment = (cpu.user + cpu.system) / Math.max(1, payments);
  progress(
    `${label}: ${paymentsPerSec.toLocaleString('en')} payments/s, ` +
      `${cpuPerPayment.toFixed(0)} µs of this process's CPU per payment`,
  );
  return { paymentsPerSec, latency, peakRssMb: Math.max(peak, rssMb()) };
}

async function benchTarget(
  target: Target,
  opts: Required<Omit<LedgerBenchOptions, 'postgresUrl'>>,
): Promise<LedgerBenchFigures> {
  const { progress } = opts;
  const grouped = await target.open();
  let accounts: Accounts;
  let main: Phase;
  try {
    progress(`${target.name}: creating ${opts.accounts.toLocaleString('en')} funded accounts`);
    accounts = await setUp(grouped, opts.accounts);
    main = await runPhase(
      grouped,
      accounts,
      opts.clients,
      opts.seconds,
      `${target.name} group commit`,
      progress,
    );
  } finally {
    await grouped.close();
  }
  const naive = await target.open(1);
  let baseline: Phase;
  try {
    baseline = await runPhase(
      naive,
      accounts,
      Math.min(opts.clients, BASELINE_CLIENTS),
      opts.baselineSeconds,
      `${target.name} baseline, one command per transaction`,
      progress,
    );
  } finally {
    await naive.close();
  }
  return {
    paymentsPerSec: main.paymentsPerSec,
    p50Ms: Number(main.latency.percentile(50).toFixed(2)),
    p99Ms: Number(main.latency.percentile(99).toFixed(2)),
    baselinePaymentsPerSec: baseline.paymentsPerSec,
    peakRssMb: Math.round(Math.max(main.peakRssMb, baseline.peakRssMb)),
  };
}

/** A SQLite file in a temporary directory, opened as a node opens its database. */
function openSqliteTarget(): Target {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semops-bench-'));
  const db = openDatabase(path.join(dir, 'ledger.db'));
  return {
    name: 'sqlite',
    open: (maxBatch) => createSqliteLedger({ db, ...(maxBatch === undefined ? {} : { maxBatch }) }),
    async dispose() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema, dropped afterwards; undefined when PostgreSQL cannot be reached. */
async function openPostgresTarget(url: string): Promise<Target | undefined> {
  let scratch: Awaited<ReturnType<typeof createScratchSchema>>;
  try {
    scratch = await createScratchSchema(url, 'semops_bench');
  } catch {
    return undefined;
  }
  return {
    name: 'postgres',
    open: (maxBatch) =>
      createPostgresLedger({
        pool: url,
        schema: scratch.schema,
        ...(maxBatch === undefined ? {} : { maxBatch }),
      }),
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
  const seconds = opts.seconds ?? 8;
  const baselineSeconds = opts.baselineSeconds ?? Math.min(4, Math.max(1, seconds / 2));
  const clients = opts.clients ?? 1024;
  const accounts = opts.accounts ?? 10_000;
  for (const [name, value] of Object.entries({ seconds, baselineSeconds, clients, accounts })) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  }
  const settings = { seconds, baselineSeconds, clients, accounts, progress: opts.progress ?? (() => {}) };
  const url = opts.postgresUrl ?? process.env.SEMOPS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

  const lite = openSqliteTarget();
  let sqlite: LedgerBenchFigures;
  try {
    sqlite = await benchTarget(lite, settings);
  } finally {
    await lite.dispose();
  }
  const pg = await openPostgresTarget(url);
  if (pg === undefined) {
    settings.progress(`postgres: not reachable at ${url.replace(/\/\/[^@/]*@/, '//…@')}, skipped`);
    return { sqlite };
  }
  try {
    return { sqlite, postgres: await benchTarget(pg, settings) };
  } finally {
    await pg.dispose();
  }
}

/** The figures as a table, with the ratio of group commit to the baseline. */
export function formatLedgerBench(result: LedgerBenchResult): string {
  const head = ['store   ', 'payments/s', 'p50 ms', 'p99 ms', 'baseline/s', ' ratio', 'peak RSS MB'];
  const rows = Object.entries(result).map(([name, f]: [string, LedgerBenchFigures]) =>
    [
      name.padEnd(8),
      f.paymentsPerSec.toLocaleString('en').padStart(10),
      f.p50Ms.toFixed(2).padStart(6),
      f.p99Ms.toFixed(2).padStart(6),
      f.baselinePaymentsPerSec.toLocaleString('en').padStart(10),
      `${(f.paymentsPerSec / Math.max(1, f.baselinePaymentsPerSec)).toFixed(0)}x`.padStart(6),
      String(f.peakRssMb).padStart(11),
    ].join('  '),
  );
  return `${[head.join('  '), ...rows].join('\n')}\n`;
}
