// The SQLite side of a batch: lookups and writes on the open transaction, plus two caches that outlive
// a batch so the hot path reads almost nothing: account states (with their sums) and the pending
// transfers made here that are not yet ended (what a post looks up). A cached value is only trusted
// while nobody else has written: `begin` drops both caches when another connection committed
// (`PRAGMA data_version`) or another ledger on the same connection did (a count kept per connection).
import type Database from 'better-sqlite3';
import type { BatchStore, EndState } from './engine.js';
import type { TransferRecord } from './records.js';
import { HISTORY_MARK_EVERY } from './sqlite-schema.js';
import {
  RULE_CODES,
  toAccountState,
  toRecord,
  type SqliteAccount,
  type Statements,
} from './sqlite-statements.js';
import type { ValidCreateAccount } from './validate.js';

/** Bounds of the caches (about 300 bytes an entry); the oldest entries go first. */
const MAX_CACHED_ACCOUNTS = 50_000;
const MAX_CACHED_PENDING = 50_000;

/** Commits by any ledger on a connection, so that one ledger notices another's writes. */
const commitsByConnection = new WeakMap<Database.Database, { count: number }>();

function putBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}

export class SqliteStore implements BatchStore<SqliteAccount> {
  private readonly accounts = new Map<string, SqliteAccount>();
  private readonly pending = new Map<string, TransferRecord>();
  private readonly commits: { count: number };
  /** What data_version and the connection's commit count were after our last commit. */
  private dataVersion: number | undefined;
  private seenCommits = -1;

  constructor(
    db: Database.Database,
    private readonly s: Statements,
  ) {
    let commits = commitsByConnection.get(db);
    if (commits === undefined) {
      commits = { count: 0 };
      commitsByConnection.set(db, commits);
    }
    this.commits = commits;
  }

  /**
   * Starts a batch (inside its transaction). When someone else wrote since our last commit, drops the
   * caches and returns the newest createdAt stored (new transfers must not be older).
   */
  begin(): number | undefined {
    const version = this.s.dataVersion.get();
    if (version === this.dataVersion && this.commits.count === this.seenCommits) return undefined;
    this.discard();
    this.dataVersion = version;
    return Number(this.s.newestCreatedAt.get() ?? 0);
  }

  /** After a commit: the caches hold committed state, unless the batch ran inside the caller's transaction. */
  committed(nested: boolean): void {
    this.commits.count += 1;
    if (nested) this.discard();
    else this.seenCommits = this.commits.count;
  }

  discard(): void {
    this.accounts.clear();
    this.pending.clear();
    this.seenCommits = -1;
  }

  loadAccount(id: string): SqliteAccount | undefined {
    const cached = this.accounts.get(id);
    if (cached !== undefined) return cached;
    const row = this.s.selectAccount.get(id);
    if (row === undefined) return undefined;
    const a = toAccountState(row);
    putBounded(this.accounts, id, a, MAX_CACHED_ACCOUNTS);
    return a;
  }

  insertAccount(c: ValidCreateAccount, now: number): SqliteAccount {
    const n = Number(this.s.insertAccount.run(c.id, c.currency, c.rule, c.code, now).lastInsertRowid);
    this.s.insertBalance.run(n, RULE_CODES[c.rule]);
    const a: SqliteAccount = {
      id: c.id,
      currency: c.currency,
      rule: c.rule,
      code: c.code,
      createdAt: now,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
      dirty: false,
      n,
      historyHead: null,
      historyLength: 0,
    };
    putBounded(this.accounts, c.id, a, MAX_CACHED_ACCOUNTS);
    return a;
  }

  transfer(id: string): TransferRecord | undefined {
    const cached = this.pending.get(id);
    if (cached !== undefined) return cached;
    const row = this.s.selectTransfer.get(id);
    return row === undefined ? undefined : toRecord(row);
  }

  insertTransfer(t: TransferRecord, debit: SqliteAccount, credit: SqliteAccount): boolean {
    // Post and void records are not in the account histories: they are found through their pending transfer.
    const inHistory = t.pendingId === null;
    const result = this.s.insertTransfer.run(
      t.id,
      t.kind,
      t.debitAccountId,
      t.creditAccountId,
      t.amount,
      t.currency,
      t.state,
      t.pendingId,
      t.code,
      t.reference,
      t.timeoutAt,
      t.createdAt,
      inHistory ? debit.historyHead : null,
      inHistory ? credit.historyHead : null,
    );
    if (result.changes === 0) return false;
    const seq = Number(result.lastInsertRowid);
    t.seq = seq;
    if (inHistory) {
      this.append(debit, t.createdAt, seq);
      this.append(credit, t.createdAt, seq);
    }
    if (t.state === 'pending') putBounded(this.pending, t.id, t, MAX_CACHED_PENDING);
    return true;
  }

  endPending(t: TransferRecord, state: EndState): void {
    if (t.seq === undefined || this.s.endPending.run(state, t.seq).changes !== 1) {
      throw new Error(`ledger: pending transfer ${t.id} was not pending`);
    }
    t.state = state;
    this.pending.delete(t.id);
  }

  due(at: number): TransferRecord[] {
    return this.s.selectDue.all(at).map(toRecord);
  }

  writeAccounts(accounts: readonly SqliteAccount[]): void {
    for (const a of accounts) {
      this.s.updateBalance.run(
        a.debitsPending,
        a.debitsPosted,
        a.creditsPending,
        a.creditsPosted,
        a.historyHead,
        a.historyLength,
        a.n,
      );
    }
  }

  beginAtomic(): void {
    this.s.savepoint.run();
  }

  endAtomic(keep: boolean): void {
    if (!keep) {
      this.s.rollbackToSavepoint.run();
      // Simpler than undoing each cached change; an atomic group that fails is rare.
      this.discard();
    }
    this.s.releaseSavepoint.run();
  }

  /** Makes the transfer the account's newest history entry. */
  private append(a: SqliteAccount, createdAt: number, seq: number): void {
    a.historyHead = seq;
    a.historyLength += 1;
    if (a.historyLength % HISTORY_MARK_EVERY === 0) this.s.insertMark.run(a.n, createdAt, seq);
  }
}
