// Test support: the stores the conformance suite runs against, each with a fake clock. SQLite uses a
// real file in a temporary directory. PostgreSQL uses SEMOPS_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/test) and randomly named schemas, dropped when the test file ends;
// every ledger opened gets an empty one of its own. Without a reachable PostgreSQL its suites are
// skipped, except under CI=true, where that is an error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { createPostgresLedger } from './postgres.js';
import { createScratchSchema, type ScratchSchema } from './postgres-scratch.js';
import { quoteSchema } from './postgres-schema.js';
import { openDatabase } from './sqlite-schema.js';
import { createSqliteLedger } from './sqlite.js';
import type { Account, Ledger, OpenTransaction, Transfer } from './types.js';

/** A settable clock, starting at a fixed instant. */
export interface FakeClock {
  now: number;
  readonly fn: () => number;
}

export function fakeClock(start = Date.UTC(2025, 0, 1)): FakeClock {
  const clock: FakeClock = { now: start, fn: () => clock.now };
  return clock;
}

export interface TestLedger {
  readonly ledger: Ledger;
  readonly clock: FakeClock;
  /** Closes the ledger and its storage, then opens them again on the same data. */
  reopen(): Promise<TestLedger>;
  /** Closes and deletes everything. */
  dispose(): Promise<void>;
  /**
   * Runs `fn` in a transaction of the test's own on the ledger's database (what a node does around
   * `executeWithin`), then commits it, or rolls it back when `fn` throws or `outcome` is 'rollback'.
   */
  inTransaction<T>(fn: (within: OpenTransaction) => Promise<T>, outcome?: 'commit' | 'rollback'): Promise<T>;
}

export interface TestLedgerOptions {
  readonly maxBatch?: number;
  readonly clock?: FakeClock;
  /** Skip fsync: for property tests that open hundreds of ledgers. */
  readonly noSync?: boolean;
}

export interface LedgerStore {
  readonly name: string;
  /** Why the store's suites are skipped; undefined when they run. */
  readonly skip?: string;
  open(opts?: TestLedgerOptions): Promise<TestLedger>;
}

async function openSqliteAt(dir: string, opts: TestLedgerOptions, clock: FakeClock): Promise<TestLedger> {
  const db = openDatabase(path.join(dir, 'node.db'));
  if (opts.noSync === true) db.pragma('synchronous = OFF');
  const ledger = await createSqliteLedger({ db, clock: clock.fn, maxBatch: opts.maxBatch });
  const closeAll = async (): Promise<void> => {
    await ledger.close();
    db.close();
  };
  return {
    ledger,
    clock,
    async inTransaction(fn, outcome = 'commit') {
      db.exec('BEGIN IMMEDIATE');
      try {
        const value = await fn({});
        db.exec(outcome === 'commit' ? 'COMMIT' : 'ROLLBACK');
        return value;
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      }
    },
    async reopen() {
      await closeAll();
      return openSqliteAt(dir, opts, clock);
    },
    async dispose() {
      if (db.open) await closeAll();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sqliteStore: LedgerStore = {
  name: 'sqlite',
  async open(opts = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semops-ledger-'));
    return openSqliteAt(dir, opts, opts.clock ?? fakeClock());
  },
};

export const PG_TEST_URL = process.env.SEMOPS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why PostgreSQL cannot be used, or undefined when it can. */
async function postgresProblem(): Promise<string | undefined> {
  try {
    const scratch = await createScratchSchema(PG_TEST_URL, 'semops_probe', 2000);
    await scratch.drop();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message || e.name : String(e);
  }
}

const problem = await postgresProblem();
const safeUrl = PG_TEST_URL.replace(/\/\/[^@/]*@/, '//…@');
if (problem !== undefined && process.env.CI === 'true') {
  throw new Error(
    `CI=true and PostgreSQL is not reachable at ${safeUrl} (${problem}). ` +
      'Start one, or set SEMOPS_TEST_PG_URL to a database where the tests may create schemas.',
  );
}
const skipReason =
  problem === undefined
    ? undefined
    : `no PostgreSQL at ${safeUrl} (${problem}); set SEMOPS_TEST_PG_URL to run these tests`;

/**
 * Schemas already migrated and emptied, for the next ledger: creating the tables costs ~100 ms of DDL,
 * emptying them a few, and the property test opens a ledger per run.
 */
const idleSchemas: ScratchSchema[] = [];
const createdSchemas: ScratchSchema[] = [];
let adminPool: pg.Pool | undefined;
if (problem === undefined) {
  afterAll(async () => {
    await adminPool?.end();
    await Promise.all(createdSchemas.map((s) => s.drop()));
  });
}

async function takeSchema(): Promise<ScratchSchema> {
  const idle = idleSchemas.pop();
  if (idle !== undefined) return idle;
  const scratch = await createScratchSchema(PG_TEST_URL);
  createdSchemas.push(scratch);
  return scratch;
}

async function giveBack(scratch: ScratchSchema): Promise<void> {
  adminPool ??= new pg.Pool({ connectionString: PG_TEST_URL, max: 2 });
  const s = quoteSchema(scratch.schema);
  // The tables exist once a ledger has been opened in the schema.
  await adminPool.query(
    `DELETE FROM ${s}.ledger_pending_timeouts; DELETE FROM ${s}.ledger_transfers; DELETE FROM ${s}.ledger_accounts`,
  );
  idleSchemas.push(scratch);
}

async function openPostgresIn(
  scratch: ScratchSchema,
  opts: TestLedgerOptions,
  clock: FakeClock,
): Promise<TestLedger> {
  // noSync: commits do not wait for the WAL flush (the server stays crash-safe, only recent commits may be lost).
  const pool = new pg.Pool({
    connectionString: PG_TEST_URL,
    max: 4,
    ...(opts.noSync === true ? { options: '-c synchronous_commit=off' } : {}),
  });
  const ledger = await createPostgresLedger({
    pool,
    schema: scratch.schema,
    clock: clock.fn,
    maxBatch: opts.maxBatch,
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await ledger.close();
    await pool.end();
  };
  return {
    ledger,
    clock,
    async inTransaction(fn, outcome = 'commit') {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        try {
          const value = await fn({ client });
          await client.query(outcome === 'commit' ? 'COMMIT' : 'ROLLBACK');
          return value;
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      } finally {
        client.release();
      }
    },
    async reopen() {
      await close();
      return openPostgresIn(scratch, opts, clock);
    },
    async dispose() {
      await close();
      await giveBack(scratch);
    },
  };
}

export const postgresStore: LedgerStore = {
  name: 'postgres',
  skip: skipReason,
  async open(opts = {}) {
    return openPostgresIn(await takeSchema(), opts, opts.clock ?? fakeClock());
  },
};

export const LEDGER_STORES: readonly LedgerStore[] = [sqliteStore, postgresStore];

/** `describe` for a store's suite, or `describe.skip` with the reason in its title. */
export function describeStore(store: LedgerStore, title: string, fn: () => void): void {
  if (store.skip === undefined) describe(title, fn);
  else describe.skip(`${title} (skipped: ${store.skip})`, fn);
}

/** Every account and transfer the ledger holds about `accountIds`: what "no state change" compares. */
export async function snapshot(
  ledger: Ledger,
  accountIds: readonly string[],
): Promise<{ accounts: Account[]; transfers: Transfer[][] }> {
  return {
    accounts: await ledger.getAccounts(accountIds),
    transfers: await Promise.all(accountIds.map((id) => ledger.listTransfers(id, { limit: 1000 }))),
  };
}
