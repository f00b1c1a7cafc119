/**
 * Where a node keeps its tables: an embedded SQLite file (the default, zero set-up) or PostgreSQL (production,
 * several instances of a node on one database). `SEMOPS_DATABASE_URL` chooses: `postgres://…` selects
 * PostgreSQL with one schema per node; anything else is a SQLite file path. Tables other than the ledger's
 * are reached through Kysely, whose migrator applies each component's numbered migrations at start-up.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type Migration,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase,
} from 'kysely';
import type Database from 'better-sqlite3';
import pg from 'pg';
import { createWalSync, openSqlite, type Db } from './sqlite.js';
import { fatal } from './sql.js';

export type Engine = 'sqlite' | 'postgres';

/** The tables of a node; typed per component with Kysely's generic queries. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each component types its own tables
export type AnyDb = Kysely<any>;

export interface Store {
  readonly engine: Engine;
  readonly db: AnyDb;
  /** The SQLite connection (for the SQLite ledger), when engine is sqlite. */
  readonly sqlite?: Db;
  /** The PostgreSQL connection string, pool and schema, when engine is postgres. */
  readonly pg?: { readonly url: string; readonly pool: pg.Pool; readonly schema: string };
  /**
   * Runs `fn` while no other query of this store runs. On SQLite the node's single connection is shared by
   * Kysely (which serialises its own queries and transactions) and the ledger's synchronous group commit;
   * the ledger commits inside this lock so that it never lands inside an open Kysely transaction. On
   * PostgreSQL every transaction has its own connection and this simply runs `fn`.
   */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T>;
  /**
   * On a SQLite store opened with `walSync`: resolves once every commit made so far is on disk (commits only
   * write the WAL; one fsync off the event loop serves all of them). Absent: every commit is durable when it
   * returns (SQLite with `synchronous = FULL`, PostgreSQL).
   */
  readonly durable?: () => Promise<void>;
  /** A description safe to print (no password). */
  readonly where: string;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** `postgres://…` or a SQLite file path; default `SEMOPS_DATABASE_URL`, then `<dataDir>/<name>.db`. */
  readonly url?: string;
  readonly dataDir: string;
  /** The node id; names the SQLite file and the PostgreSQL schema. */
  readonly name: string;
  /** PostgreSQL pool size. */
  readonly poolSize?: number;
  /** PostgreSQL schema instead of the one named after `name` (tests use a fresh one per run). */
  readonly schema?: string;
  /**
   * SQLite: commits write the WAL without fsync and `durable()` fsyncs it off the event loop (group commit).
   * Every writer of the store must then wait for `durable()` before acting on what it wrote (the node's `Sql`,
   * ledger and idempotency store do).
   */
  readonly walSync?: boolean;
}

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//.test(url);
}

/** A node id as a PostgreSQL schema name: `bank-a` → `bank_a`. */
export function schemaName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

const INT8_OID = 20;
const asNumber = (v: string): number => Number(v);
/** BIGINT as a JS number for the node's own tables; every other type as pg parses it. */
const storeTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === INT8_OID
    ? asNumber
    : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(
        oid,
        format,
      )) as typeof pg.types.getTypeParser;

/** Most distinct query texts named per pool; past it (batches of every size), queries run unnamed. */
const MAX_NAMED_STATEMENTS = 2_000;

/**
 * The pool as Kysely sees it, each data query run as a named prepared statement: PostgreSQL parses and plans
 * it once per connection instead of on every call (Kysely's queries are otherwise parsed every time).
 * Schema changes and transaction control stay unnamed.
 */
function namedStatements(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (
      name === undefined &&
      names.size < MAX_NAMED_STATEMENTS &&
      /^\s*(select|insert|update|delete|with)\b/i.test(text)
    ) {
      name = `semops_k${names.size + 1}`;
      names.set(text, name);
    }
    return name;
  };
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let w = wrapped.get(client);
      if (w === undefined) {
        const c = client;
        w = {
          query: ((text: unknown, values?: unknown[]) => {
            if (typeof text !== 'string') return c.query(text as pg.Submittable);
            const name = nameOf(text);
            return name === undefined ? c.query(text, values) : c.query({ name, text, values: values ?? [] });
          }) as unknown as PostgresPoolClient['query'],
          release: () => c.release(),
        };
        wrapped.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  // Empty environment variables count as unset.
  const url = opts.url || process.env.SEMOPS_DATABASE_URL || undefined;
  const schemaOverride = opts.schema || process.env.SEMOPS_DATABASE_SCHEMA || undefined;
  if (isPostgresUrl(url)) {
    const schema = schemaName(schemaOverride ?? opts.name);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } finally {
      await admin.end();
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      options: `-c search_path="${schema}"`,
      // Non-ledger tables keep amounts as decimal text; their BIGINT columns are epoch-ms times and
      // counters, exact as JS numbers. (The ledger has its own pool and reads amounts as bigint.)
      types: { getTypeParser: storeTypeParser },
    });
    const db: AnyDb = new Kysely({ dialect: new PostgresDialect({ pool: namedStatements(pool) }) });
    const u = new URL(url);
    return {
      engine: 'postgres',
      db,
      pg: { url, pool, schema },
      exclusive: async (fn) => fn(),
      where: `postgres://${u.host}${u.pathname} schema ${schema}`,
      async close() {
        await db.destroy();
      },
    };
  }
  const path = url ?? join(opts.dataDir, `${opts.name}.db`);
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = openSqlite(path, { walSync: opts.walSync ?? false });
  const wal = opts.walSync ? createWalSync(path) : undefined;
  let line: Promise<void> = Promise.resolve();
  const db: AnyDb = new Kysely({
    dialect: wal
      ? new DurableSqliteDialect(sqlite, () => wal.sync().catch(fatal))
      : new SqliteDialect({ database: preparedOnce(sqlite) }),
  });
  return {
    engine: 'sqlite',
    db,
    sqlite,
    where: path,
    exclusive: (fn) => {
      // First come, first served (Kysely's own connection lock wakes every waiter and lets the quickest win,
      // which can starve the ledger's group commit behind a steady stream of SQL batches).
      const turn = line.then(() => db.connection().execute(async () => fn()));
      line = turn.then(
        () => undefined,
        () => undefined,
      );
      return turn;
    },
    ...(wal ? { durable: () => wal.sync() } : {}),
    async close() {
      await wal?.sync().catch(() => undefined);
      await wal?.close();
      // Kysely's SQLite driver closes the connection it was given.
      await db.destroy();
    },
  };
}

/**
 * Kysely on a SQLite connection whose commits only write the WAL: a committed transaction, and a write run
 * outside one, return only once `durable` has put them on disk — so every component that writes through
 * Kysely keeps the guarantee of `synchronous = FULL` without blocking the event loop on the fsync.
 */
/** Most statements `preparedOnce` keeps; the least recently prepared goes first. */
const MAX_CACHED_STATEMENTS = 1000;

/**
 * The connection as Kysely's SQLite dialect sees it, with each SQL text prepared once: Kysely asks for a new
 * statement on every query, and preparing costs more than running most of the node's queries.
 */
function preparedOnce(sqlite: Db): SqliteDatabase {
  const statements = new Map<string, Database.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let st = statements.get(text);
      if (st === undefined) {
        st = sqlite.prepare(text);
        statements.set(text, st);
        if (statements.size > MAX_CACHED_STATEMENTS) {
          const oldest = statements.keys().next();
          if (oldest.done !== true) statements.delete(oldest.value);
        }
      }
      return st;
    },
  };
}

class DurableSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqlite: Db,
    private readonly durable: () => Promise<void>,
  ) {
    super({ database: preparedOnce(sqlite) });
  }

  override createDriver(): Driver {
    const inner = super.createDriver();
    const { sqlite, durable } = this;
    const totalChanges = sqlite.prepare('SELECT total_changes()').pluck();
    const wrap = (c: DatabaseConnection): DatabaseConnection => ({
      async executeQuery<R>(query: CompiledQuery) {
        const before = sqlite.inTransaction ? undefined : totalChanges.get();
        const result = await c.executeQuery<R>(query);
        if (before !== undefined && !sqlite.inTransaction && totalChanges.get() !== before) await durable();
        return result;
      },
      streamQuery: (query, chunkSize) => c.streamQuery(query, chunkSize),
    });
    const connections = new WeakMap<DatabaseConnection, DatabaseConnection>();
    const unwrap = (c: DatabaseConnection) => connections.get(c) ?? c;
    return {
      init: () => inner.init(),
      async acquireConnection() {
        const c = await inner.acquireConnection();
        const w = wrap(c);
        connections.set(w, c);
        return w;
      },
      beginTransaction: (c, settings) => inner.beginTransaction(unwrap(c), settings),
      async commitTransaction(c) {
        await inner.commitTransaction(unwrap(c));
        await durable();
      },
      rollbackTransaction: (c) => inner.rollbackTransaction(unwrap(c)),
      ...(inner.savepoint
        ? { savepoint: (c, name, compile) => inner.savepoint!(unwrap(c), name, compile) }
        : {}),
      ...(inner.rollbackToSavepoint
        ? { rollbackToSavepoint: (c, name, compile) => inner.rollbackToSavepoint!(unwrap(c), name, compile) }
        : {}),
      ...(inner.releaseSavepoint
        ? { releaseSavepoint: (c, name, compile) => inner.releaseSavepoint!(unwrap(c), name, compile) }
        : {}),
      releaseConnection: (c) => inner.releaseConnection(unwrap(c)),
      destroy: () => inner.destroy(),
    };
  }
}

/**
 * Applies a component's migrations (named `0001_…`, `0002_…`, in order) once each, recorded in its own
 * table `<component>_migrations`. Fails loudly when a migration fails: a node never runs on a half-migrated
 * schema.
 */
export async function migrateStore(
  store: Store,
  component: string,
  migrations: Readonly<Record<string, Migration>>,
): Promise<void> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
    migrationTableName: `${component}_migrations`,
    migrationLockTableName: `${component}_migrations_lock`,
    ...(store.pg ? { migrationTableSchema: store.pg.schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error instanceof Error && /previously executed migration .* is missing/.test(error.message)) {
    // A database made before the migrations were squashed into one baseline (nothing had been released).
    throw new Error(
      `${store.where} holds ${component} tables of a pre-release SEMOPS (${error.message.replace(/^.*migration /, 'migration ')}) ` +
        'that cannot be upgraded. Move it away and start afresh (the demo keeps its data in .semops by default).',
      { cause: error },
    );
  }
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`${component} migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, {
      cause: error,
    });
  }
}

/** The PostgreSQL test database: `SEMOPS_TEST_PG_URL` or the local default. */
export function testPostgresUrl(): string {
  return process.env.SEMOPS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** True when PostgreSQL answers at `url` within a second. */
export async function postgresReachable(url: string = testPostgresUrl()): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export { sql };
