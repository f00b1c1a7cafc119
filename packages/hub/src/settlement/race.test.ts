import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { newId, type TransferPrepare } from '@semops/protocol';
import { createOutboxStore } from '../notifications/store.js';
import type { HubDb } from '../shared/schema.js';
import { describeEngines, openTestStore, type TestStore } from '../testing/engines.js';
import { createTransferStore, type TransferStore } from '../transfers/store.js';
import { aggregate } from './report.js';
import { closeOpenWindow } from './service.js';
import { createSettlementStore, type SettlementStore } from './store.js';

let t: TestStore;
let transfers: TransferStore;
let windows: SettlementStore;

const silent = { fatal: () => undefined } as unknown as FastifyBaseLogger;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Each call in its own transaction (on PostgreSQL its own connection), as several hub instances would. */
const inTx = <T>(fn: (tx: HubDb) => Promise<T>): Promise<T> => t.db.transaction().execute(fn);
const prepare = (i: number): TransferPrepare => ({
  transferId: newId('pay'),
  requestId: newId('req'),
  payer: i % 2 === 0 ? 'bank-a' : 'mno-b',
  payee: i % 2 === 0 ? 'mno-b' : 'bank-a',
  amount: { value: String(100 + i), currency: 'EUR' },
  expiresAt: Date.now() + 60_000,
});

describeEngines('settlement window close racing commits', (engine) => {
  beforeAll(async () => {
    t = await openTestStore(engine);
    transfers = createTransferStore(t.db, createOutboxStore(t.db));
    windows = createSettlementStore(t.db);
  });
  afterAll(async () => {
    await t?.discard();
  });

  it('never puts a transfer in a window whose report is already made', async () => {
    const committed: string[] = [];
    for (let round = 0; round < 6; round++) {
      const ps = Array.from({ length: 16 }, (_, i) => prepare(i));
      await inTx((tx) => transfers.insertReserved(tx, ps, Date.now()));
      // Commits that stay open a while after taking their window, and closes arriving in the middle of them.
      const commits = ps.map(async (p, i) => {
        await sleep(i * 3);
        return inTx(async (tx) => {
          const [tr] = await transfers.commit(
            tx,
            [{ transferId: p.transferId, receipt: 'r' }],
            Date.now(),
            Date.now(),
          );
          await sleep(20);
          return tr;
        });
      });
      const closes = [8, 25, 40].map(async (ms) => {
        await sleep(ms);
        return inTx((tx) => closeOpenWindow(tx, windows, { now: Date.now(), log: silent }));
      });
      const done = await Promise.all(commits);
      await Promise.all(closes);
      for (const tr of done) {
        expect(tr?.record.state).toBe('COMMITTED');
        committed.push(tr!.record.transferId);
      }
    }
    // Every committed transfer has a window, and each closed window's stored report is exactly the sum of the
    // transfers that carry its id now.
    const all = await transfers.getMany(committed);
    expect([...all.values()].every((r) => r.windowId !== undefined)).toBe(true);
    const list = await windows.list(1000);
    const closed = list.filter((w) => w.state === 'CLOSED');
    expect(closed.length).toBeGreaterThanOrEqual(6);
    let counted = 0;
    for (const w of closed) {
      const now = await windows.transfers(w.windowId);
      const stored = (await windows.positions(w.windowId)).map(
        ({ windowId: _w, bookedAt: _b, ...line }) => line,
      );
      expect(stored).toEqual(aggregate(now));
      expect(w.transfers).toBe(now.length);
      for (const x of now) {
        expect(x.committedAt).toBeGreaterThanOrEqual(w.openedAt);
        expect(x.committedAt).toBeLessThanOrEqual(w.closedAt!);
      }
      counted += now.length;
    }
    const open = list.find((w) => w.state === 'OPEN')!;
    expect(counted + (await windows.countTransfers(open.windowId))).toBe(committed.length);
    expect(list.filter((w) => w.state === 'OPEN')).toHaveLength(1);
  });
});
