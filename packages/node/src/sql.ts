/**
 * Plain SQL over a node's store, the same text on SQLite and PostgreSQL: tagged templates whose values are
 * bound as parameters (never spliced into the text).
 *
 * On SQLite every statement is prepared once per call site (the template's strings are the cache key) and run
 * on the node's connection directly, and transactions are **group-committed**: every `tx` (and every single
 * write outside one) queued while a batch runs joins the next batch, each inside its own SAVEPOINT (a failing
 * one rolls back alone), and the batch ends with one COMMIT — one fsync for all payments in flight instead of
 * one per write. A transaction's promise settles only after that COMMIT, so nothing it wrote is acted upon
 * before it is durable. Reads outside a transaction run in arrival order between transactions.
 *
 * @example
 * const row = await q.one<{ name: string }>`SELECT name FROM customers WHERE id = ${id}`;
 * await q.tx(async (t) => { await t.run`UPDATE …`; await t.run`INSERT …`; });
 */
import { sql, type Kysely } from 'kysely';
import type Database from 'better-sqlite3';
import pg from 'pg';
import type { OpenTransaction } from '@semops/ledger';
import type { AnyDb, Engine, Store } from './store.js';

export interface Sql {
  readonly engine: Engine;
  all<T>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T[]>;
  one<T>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T | undefined>;
  /** Runs a statement and returns how many rows it changed. */
  run(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>;
  /**
   * Runs `fn` in one transaction; nested calls join the outer one. On PostgreSQL a transaction undone by a
   * deadlock or a serialization failure runs again (at most 5 times): `fn` acts only on the database.
   */
  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T>;
  /**
   * Inside `tx`: the open transaction, for the node's ledger to join (`ledger.executeWithin(q.within, …)`),
   * so that a change of state and its money commit together. Undefined outside a transaction.
   */
  readonly within?: OpenTransaction;
}

/** The open transaction `q` runs in, for the ledger to join; throws outside `Sql.tx`. */
export function openTransaction(q: Sql): OpenTransaction {
  if (q.within === undefined)
    throw new Error('the ledger joins an open transaction only: call this inside Sql.tx');
  return q.within;
}

function make(engine: Engine, db: AnyDb | Kysely<unknown>, inTx: boolean): Sql {
  const k = db as AnyDb;
  const self: Sql = {
    engine,
    async all<T>(strings: TemplateStringsArray, ...values: unknown[]) {
      return (await sql<T>(strings, ...values).execute(k)).rows;
    },
    async one<T>(strings: TemplateStringsArray, ...values: unknown[]) {
      return (await sql<T>(strings, ...values).execute(k)).rows[0];
    },
    async run(strings: TemplateStringsArray, ...values: unknown[]) {
      const r = await sql(strings, ...values).execute(k);
      return Number(r.numAffectedRows ?? 0n);
    },
    tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
      if (inTx) return fn(self);
      return k.transaction().execute((trx) => fn(make(engine, trx, true)));
    },
  };
  return self;
}

/** `onCommit`: told how many transactions each group commit made durable (the node's metrics). */
export function createSql(store: Store, opts: { onCommit?: (size: number) => void } = {}): Sql {
  const onCommit = opts.onCommit ?? (() => undefined);
  if (store.sqlite) return createSqliteSql(store, store.sqlite, onCommit);
  if (store.pg) return createPostgresSql(store.pg.pool, onCommit);
  return make(store.engine, store.db, false);
}

/**
 * The node's SQL on PostgreSQL: each call site is a named prepared statement (parsed and planned once per
 * connection, not once per query), run on the pool.
 *
 * Transactions are **group-committed**, as on SQLite: the `tx` calls queued while a batch runs join the next
 * batch, on one connection of the pool, each inside its own SAVEPOINT (a failing one rolls back alone), and
 * the batch ends with one COMMIT. Rows every payment touches (the ledger's house accounts) are then locked
 * once per batch instead of once per payment, and a batch of payments costs one commit. A transaction chosen
 * as a deadlock's victim (another instance on the same database) is rolled back alone and runs again in the
 * next batch, after this one's commit has let go of the locks the other instance waits for.
 */
function createPostgresSql(pool: pg.Pool, onCommit: (size: number) => void): Sql {
  const statements = new WeakMap<TemplateStringsArray, { name: string; text: string }>();
  let count = 0;
  const prepared = (strings: TemplateStringsArray) => {
    let st = statements.get(strings);
    if (st === undefined) {
      const text = strings.reduce((acc, part, i) => (i === 0 ? part : `${acc}$${i}${part}`), '');
      count += 1;
      st = { name: `semops_${count}`, text };
      statements.set(strings, st);
    }
    return st;
  };
  const queue: PgUnit[] = [];
  let running = false;

  const on = (runner: pg.Pool | pg.PoolClient, inTx: boolean): Sql => {
    const within = inTx ? { client: runner as pg.PoolClient } : undefined;
    const query = <T extends pg.QueryResultRow>(strings: TemplateStringsArray, values: unknown[]) =>
      runner.query<T>({ ...prepared(strings), values });
    const self: Sql = {
      engine: 'postgres',
      ...(within ? { within } : {}),
      all: async <T>(strings: TemplateStringsArray, ...values: unknown[]) =>
        (await query<T & pg.QueryResultRow>(strings, values)).rows as T[],
      one: async <T>(strings: TemplateStringsArray, ...values: unknown[]) =>
        (await query<T & pg.QueryResultRow>(strings, values)).rows[0] as T | undefined,
      run: async (strings: TemplateStringsArray, ...values: unknown[]) =>
        (await query(strings, values)).rowCount ?? 0,
      tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
        if (inTx) return fn(self);
        return new Promise<T>((resolve, reject) => {
          queue.push({ fn, resolve: resolve, reject, attempts: 0 });
          kick();
        });
      },
    };
    return self;
  };

  /** Runs one batch on `client`; answers its units once committed and puts deadlock victims back in line. */
  async function runBatch(client: pg.PoolClient, units: PgUnit[]): Promise<void> {
    const q = on(client, true);
    const outcomes: Array<{ unit: PgUnit; ok: boolean; value: unknown }> = [];
    const again: PgUnit[] = [];
    await client.query('BEGIN');
    try {
      for (const unit of units) {
        await client.query('SAVEPOINT unit');
        try {
          const value = await unit.fn(q);
          await client.query('RELEASE SAVEPOINT unit');
          outcomes.push({ unit, ok: true, value });
        } catch (e) {
          // Undoes this unit's writes and lets go of the locks it took.
          await client.query('ROLLBACK TO SAVEPOINT unit');
          await client.query('RELEASE SAVEPOINT unit');
          unit.attempts += 1;
          if (isRetryableConflict(e) && unit.attempts < MAX_TX_ATTEMPTS) again.push(unit);
          else outcomes.push({ unit, ok: false, value: e });
        }
      }
      await client.query('COMMIT');
      onCommit(outcomes.length);
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    queue.unshift(...again);
    for (const o of outcomes) {
      if (o.ok) o.unit.resolve(o.value);
      else o.unit.reject(o.value);
    }
  }

  async function drain(): Promise<void> {
    const client = await pool.connect();
    let broken = false;
    try {
      while (queue.length > 0) {
        const units = queue.splice(0, MAX_PG_BATCH_UNITS);
        try {
          await runBatch(client, units);
        } catch (e) {
          // BEGIN, a savepoint or COMMIT failed (the connection broke, the server stopped): nothing of this
          // batch is known to be kept, and each of its transactions learns so.
          broken = !(e instanceof pg.DatabaseError);
          for (const u of units) u.reject(e);
          if (broken) return;
        }
      }
    } finally {
      client.release(broken);
    }
  }

  function kick(): void {
    if (running) return;
    running = true;
    drain()
      .catch((e: unknown) => {
        // No connection to be had: every transaction waiting now fails with the reason.
        for (const u of queue.splice(0)) u.reject(e);
      })
      .finally(() => {
        running = false;
        if (queue.length > 0) kick();
      });
  }

  return on(pool, false);
}

interface PgUnit {
  fn(q: Sql): Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  attempts: number;
}

/**
 * Most transactions one PostgreSQL batch holds. Each takes a subtransaction (its savepoint, and the ledger's
 * inside it); a backend tracks 64 of them cheaply, past that every other session's visibility checks slow down.
 */
const MAX_PG_BATCH_UNITS = 24;

/** How often a PostgreSQL transaction runs when a deadlock or serialization failure undoes it. */
const MAX_TX_ATTEMPTS = 5;

/** A PostgreSQL deadlock (40P01) or serialization failure (40001): the transaction may simply run again. */
function isRetryableConflict(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** Most transactions one SQLite batch holds before it commits (the rest wait for the next). */
const MAX_BATCH_UNITS = 512;

type Unit =
  | { readonly kind: 'read'; run(): unknown; resolve(v: unknown): void; reject(e: unknown): void }
  | {
      readonly kind: 'tx';
      fn(q: Sql): Promise<unknown>;
      resolve(v: unknown): void;
      reject(e: unknown): void;
    };

/**
 * An fsync that failed leaves it unknown what is on disk: the node stops at once (as PostgreSQL does), and
 * recovery on restart settles every payment from what the disk holds.
 */
export function fatal(e: unknown): never {
  process.stderr.write(`FATAL: a commit could not be made durable; stopping. ${String(e)}\n`);
  process.exit(70);
}

function createSqliteSql(store: Store, db: Database.Database, onCommit: (size: number) => void): Sql {
  const statements = new WeakMap<TemplateStringsArray, Database.Statement>();
  const prepared = (strings: TemplateStringsArray): Database.Statement => {
    let st = statements.get(strings);
    if (st === undefined) {
      st = db.prepare(strings.join('?'));
      statements.set(strings, st);
    }
    return st;
  };
  const allNow = <T>(strings: TemplateStringsArray, values: unknown[]): T[] => {
    const st = prepared(strings);
    if (st.reader) return st.all(...values) as T[];
    st.run(...values);
    return [];
  };
  const runNow = (strings: TemplateStringsArray, values: unknown[]): number =>
    prepared(strings).run(...values).changes;

  /** The SQL a transaction's function gets: statements run at once, on the batch's open transaction. */
  const inBatch: Sql = {
    engine: 'sqlite',
    // The ledger shares this connection: it joins the batch's open transaction as it is.
    within: {},
    all: async <T>(strings: TemplateStringsArray, ...values: unknown[]) => allNow<T>(strings, values),
    one: async <T>(strings: TemplateStringsArray, ...values: unknown[]) => allNow<T>(strings, values)[0],
    run: async (strings: TemplateStringsArray, ...values: unknown[]) => runNow(strings, values),
    tx: (fn) => fn(inBatch),
  };

  const queue: Unit[] = [];
  let running = false;

  const savepoint = db.prepare('SAVEPOINT unit');
  const release = db.prepare('RELEASE unit');
  const rollbackTo = db.prepare('ROLLBACK TO unit');

  /**
   * Runs one batch of queued units while holding the store's connection, then lets it go: the ledger's group
   * commit and the store's own queries wait in the same line, so a steady stream of units never starves them.
   */
  async function drain(): Promise<void> {
    const outcomes: Array<{ unit: Unit; ok: boolean; value: unknown }> = [];
    let began = false;
    let units = 0;
    try {
      while (queue.length > 0 && units < MAX_BATCH_UNITS) {
        const u = queue.shift()!;
        units += 1;
        if (u.kind === 'read') {
          try {
            u.resolve(u.run());
          } catch (e) {
            u.reject(e);
          }
          continue;
        }
        if (!began) {
          db.exec('BEGIN IMMEDIATE');
          began = true;
        }
        savepoint.run();
        try {
          const value = await u.fn(inBatch);
          release.run();
          outcomes.push({ unit: u, ok: true, value });
        } catch (e) {
          rollbackTo.run();
          release.run();
          outcomes.push({ unit: u, ok: false, value: e });
        }
      }
      if (began) {
        db.exec('COMMIT');
        onCommit(outcomes.length);
      }
    } catch (e) {
      // BEGIN or COMMIT failed (a full disk, an I/O error): nothing of this batch is kept.
      if (db.inTransaction) db.exec('ROLLBACK');
      for (const o of outcomes) o.unit.reject(e);
      throw e;
    }
    const settle = () => {
      for (const o of outcomes) {
        if (o.ok) o.unit.resolve(o.value);
        else o.unit.reject(o.value);
      }
    };
    // Settled once on disk; the connection is already free for the next batch meanwhile.
    if (began && store.durable) void store.durable().then(settle, (e: unknown) => fatal(e));
    else settle();
  }

  function kick(): void {
    if (running) return;
    running = true;
    void store
      .exclusive(drain)
      .catch((e: unknown) => {
        // The batch that failed to commit rejects every transaction still waiting in it.
        const failed = queue.splice(0);
        for (const u of failed) u.reject(e);
      })
      .finally(() => {
        running = false;
        // Queue behind whoever waits for the connection now (the ledger's commit), never ahead of them.
        if (queue.length > 0) setImmediate(kick);
      });
  }

  const enqueueTx = <T>(fn: (q: Sql) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ kind: 'tx', fn, resolve: resolve, reject });
      kick();
    });
  const enqueueRead = <T>(run: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ kind: 'read', run, resolve: resolve, reject });
      kick();
    });

  return {
    engine: 'sqlite',
    all: <T>(strings: TemplateStringsArray, ...values: unknown[]) => {
      const st = prepared(strings);
      // A statement that writes (INSERT … RETURNING) is a transaction of its own.
      return st.readonly
        ? enqueueRead(() => st.all(...values) as T[])
        : enqueueTx(async () => (st.reader ? (st.all(...values) as T[]) : (st.run(...values), [] as T[])));
    },
    one: <T>(strings: TemplateStringsArray, ...values: unknown[]) => {
      const st = prepared(strings);
      // A statement that writes (UPDATE … RETURNING) is a transaction of its own.
      return st.readonly
        ? enqueueRead(() => st.get(...values) as T | undefined)
        : enqueueTx(async () =>
            st.reader ? (st.get(...values) as T | undefined) : (st.run(...values), undefined),
          );
    },
    run: (strings: TemplateStringsArray, ...values: unknown[]) => {
      const st = prepared(strings);
      return st.readonly
        ? enqueueRead(() => st.run(...values).changes)
        : enqueueTx(async () => st.run(...values).changes);
    },
    tx: enqueueTx,
  };
}

/** Engine-specific bits of portable DDL. */
export function ddl(engine: Engine) {
  return {
    /** An auto-numbered primary key. */
    serial: engine === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY',
    /** A check that `col` holds a positive whole number as decimal text. */
    digits: (col: string) =>
      engine === 'postgres'
        ? `${col} ~ '^[1-9][0-9]*$'`
        : `${col} GLOB '[1-9]*' AND ${col} NOT GLOB '*[^0-9]*'`,
  };
}

/** True when `e` is a unique-constraint violation on either engine. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  return (
    err?.code === '23505' || (typeof err?.message === 'string' && err.message.includes('UNIQUE constraint'))
  );
}
