// Test support: a ledger on a real SQLite file in a temporary directory, with a fake clock. The
// conformance tests run against every entry of LEDGER_STORES; the PostgreSQL store adds its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from './schema.js';
import { createSqliteLedger } from './sqlite.js';
import type { Account, Ledger, Transfer } from './types.js';

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
  /** Closes the ledger and its storage, then opens them again from the same file. */
  reopen(): Promise<TestLedger>;
  /** Closes and deletes everything. */
  dispose(): Promise<void>;
}

export interface TestLedgerOptions {
  readonly maxBatch?: number;
  readonly clock?: FakeClock;
  /** Skip fsync (synchronous=OFF): for property tests that open thousands of ledgers. */
  readonly noSync?: boolean;
}

export interface LedgerStore {
  readonly name: string;
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

export const LEDGER_STORES: readonly LedgerStore[] = [sqliteStore];

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
