/**
 * The store engines the hub's tests run on: SQLite always, PostgreSQL when one is reachable at
 * `testPostgresUrl()` (`SEMOPS_TEST_PG_URL`, default 127.0.0.1:5432). Without one, the PostgreSQL variants
 * are skipped with the reason in their title, except under `CI=true`, where they fail.
 *
 * @example
 * describeEngines('transfers', (engine) => {
 *   beforeAll(async () => (net = await startNetwork(engine.options())));
 *   it('…', async () => {});
 * });
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe } from 'vitest';
import { openStore, postgresReachable, testPostgresUrl, type Engine, type Store } from '@semops/node';
import type { HubOptions } from '../app.js';
import { migrateHub, type HubDb } from '../shared/schema.js';

export interface TestEngine {
  readonly name: Engine;
  /** Why this engine's tests are skipped; undefined when they run. */
  readonly skip?: string;
  /** Hub options that select this engine: on PostgreSQL a fresh schema per call. */
  options(): Pick<HubOptions, 'databaseUrl' | 'schema'>;
}

async function detect(): Promise<TestEngine[]> {
  const url = testPostgresUrl();
  const reachable = await postgresReachable(url);
  const where = new URL(url).host;
  const skip =
    reachable || process.env.CI === 'true'
      ? undefined
      : `skipped: no PostgreSQL at ${where} (set SEMOPS_TEST_PG_URL; under CI=true this fails)`;
  if (skip) process.stderr.write(`hub tests: PostgreSQL variants ${skip}\n`);
  return [
    { name: 'sqlite', options: () => ({}) },
    {
      name: 'postgres',
      ...(skip === undefined ? {} : { skip }),
      options() {
        if (!reachable) throw new Error(`PostgreSQL is required (CI=true) but not reachable at ${where}.`);
        return { databaseUrl: url, schema: `hub_test_${randomBytes(6).toString('hex')}` };
      },
    },
  ];
}

export const ENGINES: readonly TestEngine[] = await detect();

/** Declares the suite once per engine, titled `<title> [<engine>]`; a skipped engine says why. */
export function describeEngines(title: string, body: (engine: TestEngine) => void): void {
  for (const engine of ENGINES) {
    if (engine.skip) describe.skip(`${title} [${engine.name}] (${engine.skip})`, () => body(engine));
    else describe(`${title} [${engine.name}]`, () => body(engine));
  }
}

/** A migrated hub store of its own on `engine`, for tests below the HTTP API. */
export interface TestStore {
  readonly store: Store;
  readonly db: HubDb;
  /** Closes the store and deletes its file or schema. */
  discard(): Promise<void>;
}

export async function openTestStore(engine: TestEngine): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'semops-hub-store-'));
  const { databaseUrl, schema } = engine.options();
  const store = await openStore({
    dataDir,
    name: 'hub',
    url: databaseUrl ?? join(dataDir, 'hub.db'),
    ...(schema === undefined ? {} : { schema }),
  });
  const db = await migrateHub(store);
  return {
    store,
    db,
    async discard() {
      if (store.pg) await sql`DROP SCHEMA ${sql.id(store.pg.schema)} CASCADE`.execute(store.db);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
