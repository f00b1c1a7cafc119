/**
 * Plain SQL over a node's store, the same text on SQLite and PostgreSQL: tagged templates whose values are
 * bound as parameters (never spliced into the text).
 *
 * @example
 * const row = await q.one<{ name: string }>`SELECT name FROM customers WHERE id = ${id}`;
 * await q.tx(async (t) => { await t.run`UPDATE …`; await t.run`INSERT …`; });
 */
import { sql, type Kysely } from 'kysely';
import type { AnyDb, Engine, Store } from './store.js';

export interface Sql {
  readonly engine: Engine;
  all<T>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T[]>;
  one<T>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T | undefined>;
  /** Runs a statement and returns how many rows it changed. */
  run(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>;
  /** Runs `fn` in one transaction; nested calls join the outer one. */
  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T>;
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

export function createSql(store: Store): Sql {
  return make(store.engine, store.db, false);
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
