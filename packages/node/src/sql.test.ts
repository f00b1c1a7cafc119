import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createSql, isUniqueViolation, type Sql } from './sql.js';
import { openStore, postgresReachable, testPostgresUrl, type Store } from './store.js';
import { createWalSync } from './sqlite.js';

/**
 * The node's SQL on SQLite: statements prepared once, transactions group-committed, each one atomic — with
 * SQLite's own fsync per commit, and with commits made durable by an fsync of the WAL off the event loop.
 */
describe.each([{ walSync: false }, { walSync: true }])('Sql on SQLite (group commit, %o)', ({ walSync }) => {
  let dir: string;
  let store: Store;
  let q: Sql;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semops-sql-'));
    store = await openStore({ dataDir: dir, name: 'node', url: join(dir, 'node.db'), walSync });
    q = createSql(store);
    await q.run`CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))`;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs concurrent transactions in one commit, and settles each only after that commit', async () => {
    let firstSettled = false;
    let seenInSecond: Array<{ id: string }> = [];
    const first = q
      .tx(async (t) => {
        await t.run`INSERT INTO items (id, n) VALUES (${'a'}, ${1})`;
        return 'first';
      })
      .then((v) => {
        firstSettled = true;
        return v;
      });
    const second = q.tx(async (t) => {
      // The first transaction's row is there, but its promise has not settled: both share one COMMIT.
      seenInSecond = await t.all<{ id: string }>`SELECT id FROM items ORDER BY id`;
      expect(firstSettled).toBe(false);
      await t.run`INSERT INTO items (id, n) VALUES (${'b'}, ${2})`;
      return 'second';
    });
    expect(await Promise.all([first, second])).toEqual(['first', 'second']);
    expect(seenInSecond).toEqual([{ id: 'a' }]);
    expect(await q.all`SELECT id, n FROM items ORDER BY id`).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
  });

  it('rolls back a failing transaction alone; the others of its batch commit', async () => {
    const results = await Promise.allSettled([
      q.tx(async (t) => t.run`INSERT INTO items (id, n) VALUES (${'ok1'}, ${1})`),
      q.tx(async (t) => {
        await t.run`INSERT INTO items (id, n) VALUES (${'bad'}, ${1})`;
        await t.run`INSERT INTO items (id, n) VALUES (${'bad2'}, ${-1})`; // violates the CHECK
      }),
      q.tx(async (t) => {
        await t.run`INSERT INTO items (id, n) VALUES (${'thrown'}, ${1})`;
        throw new Error('refused by the caller');
      }),
      q.run`INSERT INTO items (id, n) VALUES (${'ok2'}, ${2})`,
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((await q.all<{ id: string }>`SELECT id FROM items ORDER BY id`).map((r) => r.id)).toEqual([
      'ok1',
      'ok2',
    ]);
  });

  it('answers reads, counts changed rows, returns rows of a writing statement and joins nested transactions', async () => {
    await q.run`INSERT INTO items (id, n) VALUES (${'x'}, ${5})`;
    expect(await q.one<{ n: number }>`SELECT n FROM items WHERE id = ${'x'}`).toEqual({ n: 5 });
    expect(await q.one`SELECT n FROM items WHERE id = ${'nope'}`).toBeUndefined();
    expect(await q.run`UPDATE items SET n = n + 1 WHERE id = ${'x'}`).toBe(1);
    expect(await q.run`UPDATE items SET n = n + 1 WHERE id = ${'nope'}`).toBe(0);
    expect(await q.one<{ n: number }>`UPDATE items SET n = n * 2 WHERE id = ${'x'} RETURNING n`).toEqual({
      n: 12,
    });
    await q.tx(async (t) => {
      await t.tx(async (inner) => inner.run`UPDATE items SET n = 0 WHERE id = ${'x'}`);
      expect(await t.one<{ n: number }>`SELECT n FROM items WHERE id = ${'x'}`).toEqual({ n: 0 });
    });
    // The same call site with other values reuses its prepared statement.
    for (const id of ['p', 'q', 'r']) await q.run`INSERT INTO items (id, n) VALUES (${id}, ${1})`;
    expect(await q.one<{ c: number }>`SELECT COUNT(*) AS c FROM items`).toEqual({ c: 4 });
  });

  it('keeps order with the store’s own queries (Kysely) on the same connection', async () => {
    const writes = Array.from(
      { length: 50 },
      (_, i) => q.run`INSERT INTO items (id, n) VALUES (${`k${i}`}, ${i})`,
    );
    const viaKysely = store.db
      .selectFrom('items')
      .select((e) => e.fn.countAll().as('c'))
      .executeTakeFirst();
    await Promise.all(writes);
    await viaKysely;
    expect(await q.one<{ c: number }>`SELECT COUNT(*) AS c FROM items`).toEqual({ c: 50 });
  });
});

describe('createWalSync', () => {
  it('makes commits durable with shared fsyncs, and what was synced is there after reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'semops-wal-'));
    try {
      const path = join(dir, 'node.db');
      const store = await openStore({ dataDir: dir, name: 'node', url: path, walSync: true });
      const q = createSql(store);
      await q.run`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`;
      const wal = createWalSync(path);
      const writes = Array.from(
        { length: 200 },
        (_, i) => q.run`INSERT INTO t (id, v) VALUES (${i}, ${'x'})`,
      );
      // Callers while an fsync runs share the next one: all resolve, none hangs.
      const syncs = Array.from({ length: 20 }, () => wal.sync());
      await Promise.all([...writes, ...syncs]);
      await wal.close();
      await store.close();
      const again = await openStore({ dataDir: dir, name: 'node', url: path });
      expect(await createSql(again).one<{ c: number }>`SELECT COUNT(*) AS c FROM t`).toEqual({ c: 200 });
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const pgUrl = testPostgresUrl();
const pgReachable = await postgresReachable(pgUrl);
const pgSkip = pgReachable || process.env.CI === 'true' ? false : `no PostgreSQL at ${new URL(pgUrl).host}`;

/** The same SQL on PostgreSQL: named prepared statements, transactions on one connection each. */
describe.skipIf(pgSkip)(`Sql on PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
  let store: Store;
  let q: Sql;
  const schema = `sql_test_${randomBytes(6).toString('hex')}`;

  beforeEach(async () => {
    store = await openStore({ dataDir: tmpdir(), name: 'node', url: pgUrl, schema });
    q = createSql(store);
    await q.run`DROP TABLE IF EXISTS items`;
    await q.run`CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))`;
  });
  afterEach(async () => {
    await q.run`DROP TABLE items`;
    await store.pg!.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await store.close();
  });

  it('reads, writes, counts changed rows and returns rows of a writing statement, statement after statement', async () => {
    for (const id of ['a', 'b', 'c']) await q.run`INSERT INTO items (id, n) VALUES (${id}, ${1})`;
    expect(await q.run`UPDATE items SET n = n + 1 WHERE id <> ${'c'}`).toBe(2);
    expect(await q.one<{ n: number }>`UPDATE items SET n = n * 5 WHERE id = ${'a'} RETURNING n`).toEqual({
      n: 10,
    });
    expect(await q.all<{ id: string }>`SELECT id FROM items WHERE n > ${1} ORDER BY id`).toEqual([
      { id: 'a' },
      { id: 'b' },
    ]);
    expect(await q.one`SELECT id FROM items WHERE id = ${'nope'}`).toBeUndefined();
  });

  it('commits a transaction whole or not at all, nested ones joining it, and reports unique violations', async () => {
    await q.tx(async (t) => {
      await t.run`INSERT INTO items (id, n) VALUES (${'x'}, ${1})`;
      await t.tx(async (inner) => inner.run`INSERT INTO items (id, n) VALUES (${'y'}, ${1})`);
    });
    const failed = await q
      .tx(async (t) => {
        await t.run`INSERT INTO items (id, n) VALUES (${'z'}, ${1})`;
        await t.run`INSERT INTO items (id, n) VALUES (${'x'}, ${1})`;
      })
      .catch((e: unknown) => e);
    expect(isUniqueViolation(failed)).toBe(true);
    expect((await q.all<{ id: string }>`SELECT id FROM items ORDER BY id`).map((r) => r.id)).toEqual([
      'x',
      'y',
    ]);
  });
});
