/**
 * What `semops scenarios` runs: every scenario of the catalogue against a fresh network, through the public
 * HTTP APIs only, each followed by a check that money is conserved across all nodes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNetwork } from '../network.js';
import { dropSchemas } from '../pg-schemas.js';
import { Ctx, ScenarioFailure } from '../testkit/index.js';
import { SCENARIOS } from './catalogue.js';

export interface ScenarioResult {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string;
}

/** Runs every scenario against a fresh network in a temporary directory. */
export async function runScenarios(
  opts: {
    only?: string;
    keep?: boolean;
    /** Run every node on this PostgreSQL database (fresh schemas, dropped afterwards unless `keep`). */
    postgres?: string;
    onResult?: (r: ScenarioResult) => void;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'semops-scenarios-'));
  const schemaPrefix = `scn_${Date.now().toString(36)}_`;
  const net = await startNetwork({
    dir,
    transferTtlMs: 3000,
    ...(opts.postgres ? { databaseUrl: opts.postgres, schemaPrefix } : {}),
  });
  const ctx = new Ctx(net);
  const results: ScenarioResult[] = [];
  try {
    for (const s of SCENARIOS) {
      if (opts.only && !s.name.includes(opts.only)) continue;
      const t0 = Date.now();
      let ok = true;
      let detail: string;
      try {
        detail = await s.run(ctx);
        await ctx.settled();
        const broken = await ctx.conservation();
        if (broken) {
          ok = false;
          detail = `money not conserved: ${broken}`;
        }
      } catch (e) {
        ok = false;
        detail =
          e instanceof ScenarioFailure
            ? e.message
            : e instanceof Error
              ? `${e.name}: ${e.message}`
              : String(e);
      }
      const r = { name: s.name, ok, ms: Date.now() - t0, detail };
      results.push(r);
      opts.onResult?.(r);
    }
  } finally {
    await net.stop();
    if (!opts.keep) {
      rmSync(dir, { recursive: true, force: true });
      if (opts.postgres) await dropSchemas(opts.postgres, schemaPrefix);
    }
  }
  return results;
}
