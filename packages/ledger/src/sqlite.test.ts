// SQLite-specific behaviour: the shared database, its schema, and the speed of the hot path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteLedger, openDatabase } from './index.js';
import { migrate } from './sqlite-schema.js';
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
    expect(tables).toEqual([
      'ledger_accounts',
      'ledger_balances',
      'ledger_history_marks',
      'ledger_schema_version',
      'ledger_transfers',
      'payments',
    ]);
    expect(db.prepare('SELECT version FROM ledger_schema_version').all()).toEqual([{ version: 2 }]);
  });

  it("leaves the caller's statements reading plain numbers", async () => {
    const ledger = await createSqliteLedger({ db });
    await ledger.createAccount({ id: 'acc_a', currency: 'KES', rule: 'none', code: 'x' });
    expect(db.prepare('SELECT debits_posted AS d FROM ledger_balances').get()).toEqual({ d: 0 });
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
    db.exec('INSERT INTO ledger_balances (n, rule) SELECT n, 0 FROM ledger_accounts');
    expect(() => db.prepare('UPDATE ledger_balances SET rule = 1, debits_posted = 1').run()).toThrow(/CHECK/);
    expect(() => db.prepare('UPDATE ledger_balances SET rule = 2, credits_pending = 1').run()).toThrow(
      /CHECK/,
    );
    expect(() => db.prepare('UPDATE ledger_balances SET debits_pending = -1').run()).toThrow(/CHECK/);
  });

  it('migrates a version 1 database: balances, history order and paging are kept', async () => {
    migrate(db, 1);
    // Version 1 data, written as the version 1 code did: sums on the accounts, history in created_at
    // order that is not the arrival order (the clock went back once).
    db.exec(`INSERT INTO ledger_accounts (id, currency, rule, code, created_at) VALUES
      ('acc_bank', 'KES', 'none', 'funding', 0), ('acc_a', 'KES', 'debits_must_not_exceed_credits', 'c', 0),
      ('acc_b', 'KES', 'debits_must_not_exceed_credits', 'c', 0)`);
    const insert = db.prepare(
      `INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, currency, state,
         pending_id, timeout_at, created_at) VALUES (?, ?, ?, ?, ?, 'KES', ?, ?, ?, ?)`,
    );
    insert.run('tr_fund', 'single', 'acc_bank', 'acc_a', 1000, 'posted', null, null, 10);
    for (let i = 0; i < 150; i++) {
      const [from, to] = i % 2 === 0 ? ['acc_a', 'acc_b'] : ['acc_b', 'acc_a'];
      insert.run(`tr_${i}`, 'single', from, to, 1, 'posted', null, null, i === 70 ? 15 : 100 + i);
    }
    insert.run('tr_p1', 'pending', 'acc_a', 'acc_b', 50, 'posted', null, null, 300);
    insert.run('tr_p1_post', 'post', 'acc_a', 'acc_b', 30, 'posted', 'tr_p1', null, 301);
    insert.run('tr_p2', 'pending', 'acc_a', 'acc_b', 20, 'pending', null, 10_000, 302);
    db.exec(`UPDATE ledger_accounts SET debits_posted = 1000 WHERE id = 'acc_bank';
      UPDATE ledger_accounts SET debits_pending = 20, debits_posted = 75 + 30, credits_posted = 1000 + 75
        WHERE id = 'acc_a';
      UPDATE ledger_accounts SET credits_pending = 20, debits_posted = 75, credits_posted = 75 + 30
        WHERE id = 'acc_b'`);
    const sums = db
      .prepare(
        'SELECT id, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger_accounts',
      )
      .all();

    const clock = { now: 200 };
    const ledger = await createSqliteLedger({ db, clock: () => clock.now });
    expect(db.prepare('SELECT version FROM ledger_schema_version').all()).toEqual([{ version: 2 }]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(
      db
        .prepare(
          `SELECT a.id, b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted
           FROM ledger_accounts a JOIN ledger_balances b USING (n)`,
        )
        .all(),
    ).toEqual(sums);
    const full = await ledger.listTransfers('acc_a', { limit: 1000 });
    const expectedOrder = [
      'tr_p2',
      'tr_p1_post',
      'tr_p1',
      ...Array.from({ length: 150 }, (_, i) => 149 - i)
        .filter((i) => i !== 70)
        .map((i) => `tr_${i}`),
      'tr_70',
      'tr_fund',
    ];
    expect(full.map((x) => x.id)).toEqual(expectedOrder);
    for (const before of [15, 16, 100, 101, 150, 170, 250, 301, 303]) {
      const page = await ledger.listTransfers('acc_a', { limit: 4, before });
      const expected = full.filter((x) => x.createdAt < before && x.pendingId === undefined).slice(0, 4);
      expect(page.filter((x) => x.pendingId === undefined)).toEqual(expected);
    }
    // New transfers come first although the clock is behind the migrated data; the open reservation posts.
    await ledger.transfer({
      id: 'tr_new',
      debitAccountId: 'acc_b',
      creditAccountId: 'acc_a',
      amount: 5n,
      currency: 'KES',
    });
    await ledger.post({ id: 'tr_p2_post', pendingId: 'tr_p2' });
    const after = await ledger.listTransfers('acc_a', { limit: 2 });
    expect(after.map((x) => [x.id, x.createdAt])).toEqual([
      ['tr_new', 302],
      ['tr_p2_post', 302],
      ['tr_p2', 302],
    ]);
    expect((await ledger.getAccount('acc_a'))?.debitsPosted).toBe(125n);
    const [kes] = await ledger.totals();
    expect(kes).toMatchObject({ debitsPosted: kes?.creditsPosted, debitsPending: 0n, creditsPending: 0n });
  });

  it('never dates a transfer before one already stored, even when the clock goes back', async () => {
    const clock = { now: 1_000_000 };
    let ledger = await createSqliteLedger({ db, clock: () => clock.now });
    await ledger.createAccount({ id: 'acc_a', currency: 'KES', rule: 'none', code: 'x' });
    await ledger.createAccount({ id: 'acc_b', currency: 'KES', rule: 'none', code: 'x' });
    const tr = (id: string) =>
      ledger.transfer({ id, debitAccountId: 'acc_a', creditAccountId: 'acc_b', amount: 1n, currency: 'KES' });
    await tr('tr_1');
    clock.now -= 60_000;
    await tr('tr_2');
    ledger = await createSqliteLedger({ db, clock: () => clock.now });
    await tr('tr_3');
    const list = await ledger.listTransfers('acc_a');
    expect(list.map((x) => [x.id, x.createdAt])).toEqual([
      ['tr_3', 1_000_000],
      ['tr_2', 1_000_000],
      ['tr_1', 1_000_000],
    ]);
  });

  describe.each([
    ['another connection', () => openDatabase(path.join(dir, 'node.db'))],
    ['another ledger on the same connection', () => db],
  ])('with %s writing too', (_name, second) => {
    it('sees its writes: balances, reservations and histories stay right', async () => {
      const db2 = second();
      try {
        const one = await createSqliteLedger({ db });
        const two = await createSqliteLedger({ db: db2 });
        await one.execute([
          { kind: 'createAccount', id: 'acc_bank', currency: 'KES', rule: 'none', code: 'f' },
          {
            kind: 'createAccount',
            id: 'acc_alice',
            currency: 'KES',
            rule: 'debits_must_not_exceed_credits',
            code: 'c',
          },
          {
            kind: 'createAccount',
            id: 'acc_shop',
            currency: 'KES',
            rule: 'debits_must_not_exceed_credits',
            code: 'm',
          },
        ]);
        const pay = (ledger: typeof one, id: string, amount: bigint, pending = false) =>
          ledger.execute([
            {
              kind: 'transfer',
              id,
              debitAccountId: 'acc_alice',
              creditAccountId: 'acc_shop',
              amount,
              currency: 'KES',
              pending,
            },
          ]);
        const code = (r: Awaited<ReturnType<typeof pay>>) => (r[0]?.ok === true ? 'OK' : r[0]?.code);
        await one.transfer({
          id: 'tr_fund',
          debitAccountId: 'acc_bank',
          creditAccountId: 'acc_alice',
          amount: 100n,
          currency: 'KES',
        });
        expect(code(await pay(two, 'tr_1', 60n))).toBe('OK');
        // `one` has alice in its cache from the funding: it must see the 60 spent by `two`.
        expect(code(await pay(one, 'tr_2', 60n))).toBe('EXCEEDS_CREDITS');
        expect(code(await pay(one, 'tr_3', 30n, true))).toBe('OK');
        expect(code(await pay(two, 'tr_4', 11n))).toBe('EXCEEDS_CREDITS');
        await two.post({ id: 'tr_3_post', pendingId: 'tr_3' });
        expect((await one.execute([{ kind: 'void', id: 'tr_3_void', pendingId: 'tr_3' }]))[0]).toMatchObject({
          code: 'PENDING_ALREADY_POSTED',
        });
        expect(code(await pay(one, 'tr_5', 10n))).toBe('OK');
        for (const ledger of [one, two]) {
          expect(await ledger.getAccount('acc_alice')).toMatchObject({
            debitsPending: 0n,
            debitsPosted: 100n,
            creditsPosted: 100n,
          });
          expect((await ledger.listTransfers('acc_alice')).map((x) => x.id)).toEqual([
            'tr_5',
            'tr_3_post',
            'tr_3',
            'tr_1',
            'tr_fund',
          ]);
        }
      } finally {
        if (db2 !== db) db2.close();
      }
    });
  });

  it('applies 10,000 mixed commands in one call, failing only the invalid ones', async () => {
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
    // How fast this runs is the ledger benchmark's business (`semops bench ledger`), not a test's.
    const results = await ledger.execute(cmds.slice(0, 10_000));
    // Only the zero-amount transfers fail (one in 150 commands).
    const failures = results.filter((r) => !r.ok);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBeLessThan(100);
    expect(failures.every((r) => r.code === 'AMOUNT_NOT_POSITIVE')).toBe(true);
    const [kes] = await ledger.totals();
    expect(kes?.debitsPosted).toBe(kes?.creditsPosted);
  });
});
