// Throw-away PostgreSQL schemas for tests and benchmarks: a fresh, randomly named schema per use,
// dropped afterwards, so runs never see each other's data.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteSchema } from './postgres-schema.js';

export interface ScratchSchema {
  /** The schema's name, e.g. `semops_test_5f2c9a0b41de`. */
  readonly schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

async function withClient<T>(url: string, timeoutMs: number, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A connection that breaks while idle must not crash the process; the next query reports it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty schema with a random name; rejects when the database cannot be reached within
 * `timeoutMs` (default 3 s).
 *
 * @example
 * const scratch = await createScratchSchema('postgres://postgres@127.0.0.1:5432/test');
 * const ledger = await createPostgresLedger({ pool: url, schema: scratch.schema });
 * // ...
 * await ledger.close();
 * await scratch.drop();
 */
export async function createScratchSchema(
  url: string,
  prefix = 'semops_test',
  timeoutMs = 3000,
): Promise<ScratchSchema> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const quoted = quoteSchema(schema);
  await withClient(url, timeoutMs, (c) => c.query(`CREATE SCHEMA ${quoted}`));
  return {
    schema,
    drop: () =>
      withClient(url, timeoutMs, (c) => c.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`)).then(
        () => undefined,
      ),
  };
}
