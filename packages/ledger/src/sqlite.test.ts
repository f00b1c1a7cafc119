// SQLite-specific behaviour: the shared database, its schema, and the speed of the hot path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteLedger, openDatabase } from './index.js';
import type { LedgerCommand } from './types.js';

describe('SQLite store', () => {
  let dir: string;
  let db: Database.Database;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semops-ledger-sqlite-'));
    db = openDatabase(path.join(dir, 'node.db'));
  });
  afterEach(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens the file with WAL, full fsync, foreign keys and a busy timeout', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('adds only ledger_ tables, records its schema version, and can be created twice', async () => {
    db.exec('CREATE TABLE payments (id TEXT PRIMARY KEY, amount INTEGER)');
    await createSqliteLedger({ db });
    await createSqliteLedger({ db });
    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual(['ledger_accounts', 'ledger_schema_version', 'ledger_transfers', 'payments']);
    expect(db.prepare('SELECT version FROM ledger_schema_version').all()).toEqual([{ version: 1 }]);
  });

  it("leaves the caller's statements reading plain numbers", async () => {
    const ledger = await createSqliteLedger({ db });
    await ledger.createAccount({ id: 'acc_a', currency: 'KES', rule: 'none', code: 'x' });
    expect(db.prepare('SELECT debits_posted AS d FROM ledger_accounts').get()).toEqual({ d: 0 });
    expect((await ledger.getAccount('acc_a'))?.debitsPosted).toBe(0n);
  });

  it('refuses a database written by a newer schema', async () => {
    await createSqliteLedger({ db });
    db.prepare('UPDATE ledger_schema_version SET version = 99').run();
    await expect(createSqliteLedger({ db })).rejects.toThrow(/newer/);
  });

  it('enforces amount and state in the database too', async () => {
    await createSqliteLedger({ db });
    db.exec(`INSERT INTO ledger_accounts (id, currency, rule, code, created_at) VALUES
      ('a', 'KES', 'none', 'x', 0), ('b', 'KES', 'none', 'x', 0)`);
    const insert = (amount: number, state: string) =>
      db
        .prepare(
          `INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, currency, state,
             created_at) VALUES ('t', 'single', 'a', 'b', ?, 'KES', ?, 0)`,
        )
        .run(amount, state);
    expect(() => insert(0, 'posted')).toThrow(/CHECK/);
    expect(() => insert(5, 'lost')).toThrow(/CHECK/);
    expect(() =>
      db
        .prepare(`UPDATE ledger_accounts SET rule = 'debits_must_not_exceed_credits', debits_posted = 1`)
        .run(),
    ).toThrow(/CHECK/);
  });

  it('applies 10,000 mixed commands in one call well under a second', async () => {
    const ledger = await createSqliteLedger({ db });
    const setup: LedgerCommand[] = [
      { kind: 'createAccount', id: 'acc_bank', currency: 'KES', rule: 'none', code: 'funding' },
    ];
    for (let i = 0; i < 500; i++) {
      setup.push({
        kind: 'createAccount',
        id: `acc_${i}`,
        currency: 'KES',
        rule: 'debits_must_not_exceed_credits',
        code: 'customer',
      });
      setup.push({
        kind: 'transfer',
        id: `tr_fund_${i}`,
        debitAccountId: 'acc_bank',
        creditAccountId: `acc_${i}`,
        amount: 10_000n,
        currency: 'KES',
      });
    }
    await ledger.execute(setup);
    const cmds: LedgerCommand[] = [];
    for (let i = 0; cmds.length < 10_000; i++) {
      const from = `acc_${i % 500}`;
      const to = `acc_${(i * 7 + 3) % 500}`;
      if (from === to) continue;
      cmds.push({
        kind: 'transfer',
        id: `tr_p_${i}`,
        debitAccountId: from,
        creditAccountId: to,
        amount: 10n,
        currency: 'KES',
        pending: true,
        timeoutMs: 60_000,
      });
      cmds.push(
        i % 10 === 0
          ? { kind: 'void', id: `tr_v_${i}`, pendingId: `tr_p_${i}` }
          : { kind: 'post', id: `tr_s_${i}`, pendingId: `tr_p_${i}` },
      );
      cmds.push({
        kind: 'transfer',
        id: `tr_${i}`,
        debitAccountId: to,
        creditAccountId: from,
        amount: BigInt(i % 50),
        currency: 'KES',
      });
    }
    const started = performance.now();
    const results = await ledger.execute(cmds.slice(0, 10_000));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    // Only the zero-amount transfers fail (one in 150 commands).
    const failures = results.filter((r) => !r.ok);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBeLessThan(100);
    expect(failures.every((r) => r.code === 'AMOUNT_NOT_POSITIVE')).toBe(true);
    const [kes] = await ledger.totals();
    expect(kes?.debitsPosted).toBe(kes?.creditsPosted);
  });
});
