/** PostgreSQL housekeeping for the runs that give every node its own schema (scenarios, bench). */
import pg from 'pg';
import { schemaName } from '@semops/node';

/** Drops the schemas a PostgreSQL scenario (or bench) run created: every one whose name starts with `prefix`. */
export async function dropSchemas(url: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
      [schemaName(prefix)],
    );
    for (const r of rows) await client.query(`DROP SCHEMA "${r.nspname}" CASCADE`);
  } finally {
    await client.end();
  }
}
