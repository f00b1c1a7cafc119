/**
 * The settlement window benchmark (`semops bench window`): a hub database with one open window of N committed
 * transfers (four processors, every tenth a conversion), then what an operator does with it, timed — the
 * database's sums of the window, its close, the first page of its report's fee lines and of its transfers.
 * The baseline, in the same run, is what the close did before it summed in SQL: load every transfer and add
 * them up in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@semops/node';
import { migrateHub } from '../shared/schema.js';
import { closeOpenWindow } from './close.js';
import { aggregate } from './report.js';
import { createSettlementStore } from './store.js';
import { MAX_TRANSFERS_PAGE } from './service.js';

export interface WindowBenchResult {
  readonly engine: 'sqlite' | 'postgres';
  readonly transfers: number;
  readonly loadMs: number;
  readonly sumsMs: number;
  readonly closeMs: number;
  readonly feePageMs: number;
  readonly transfersPageMs: number;
  /** The baseline: every transfer loaded and summed in memory. */
  readonly inMemoryMs: number;
}

const PROCESSORS = ['bank-a', 'mno-b', 'bank-c', 'mno-d'];
const INSERT_BATCH = 1_000;

/** Runs the benchmark on a fresh SQLite file, or in a fresh schema of `postgresUrl` (dropped after). */
export async function benchWindow(opts: {
  readonly transfers: number;
  readonly postgresUrl?: string;
}): Promise<WindowBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'semops-window-bench-'));
  const schema = `bench_window_${Date.now().toString(36)}`;
  const store = await openStore({
    dataDir: dir,
    name: 'hub',
    ...(opts.postgresUrl ? { url: opts.postgresUrl, schema } : {}),
  });
  try {
    const db = await migrateHub(store);
    const settlement = createSettlementStore(db);
    const t0 = Date.now();
    const w = await db.transaction().execute((tx) => settlement.ensureOpen(tx, 'win_bench', t0));
    let started = performance.now();
    for (let i = 0; i < opts.transfers; i += INSERT_BATCH) {
      const rows = [];
      for (let j = i; j < Math.min(opts.transfers, i + INSERT_BATCH); j++) {
        rows.push({
          transfer_id: `pay_${j.toString().padStart(12, '0')}`,
          request_id: `req_${j}`,
          payer: PROCESSORS[j % 4]!,
          payee: PROCESSORS[(j + 1) % 4]!,
          amount: String(100 + (j % 9_900)),
          currency: 'EUR',
          expires_at: t0,
          state: 'COMMITTED' as const,
          receipt: 'receipt',
          content_hash: 'hash',
          ledger_done: 1,
          created_at: t0,
          updated_at: t0 + (j % 1_000),
          fee_msc: String(j % 7),
          fee_interchange: String(j % 3),
          window_id: w.windowId,
          ...(j % 10 === 0 ? { fx: JSON.stringify({ margin: { value: '5', currency: 'HUF' } }) } : {}),
        });
      }
      await db.insertInto('transfers').values(rows).execute();
    }
    const loadMs = performance.now() - started;
    const time = async (fn: () => Promise<unknown>) => {
      const at = performance.now();
      await fn();
      return performance.now() - at;
    };
    const inMemoryMs = await time(async () => aggregate(await settlement.transfers(w.windowId)));
    const sumsMs = await time(() => settlement.sums(w.windowId));
    const feePageMs = await time(() =>
      settlement.transfersPage(w.windowId, { limit: 1_001, onlyFees: true }),
    );
    const transfersPageMs = await time(() =>
      settlement.transfersPage(w.windowId, { limit: MAX_TRANSFERS_PAGE, after: 'pay_000000500000' }),
    );
    started = performance.now();
    const closed = await db
      .transaction()
      .execute((tx) => closeOpenWindow(tx, settlement, { now: Date.now(), log: { fatal: () => undefined } }));
    const closeMs = performance.now() - started;
    if (closed.kind !== 'closed') throw new Error(`the window did not close: ${closed.kind}`);
    const round = (ms: number) => Math.round(ms);
    return {
      engine: store.engine,
      transfers: opts.transfers,
      loadMs: round(loadMs),
      sumsMs: round(sumsMs),
      closeMs: round(closeMs),
      feePageMs: round(feePageMs),
      transfersPageMs: round(transfersPageMs),
      inMemoryMs: round(inMemoryMs),
    };
  } finally {
    if (store.pg) {
      await store.pg.pool.query(`DROP SCHEMA IF EXISTS "${store.pg.schema}" CASCADE`).catch(() => undefined);
    }
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
