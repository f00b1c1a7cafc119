import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId, type TransferPrepare } from '@semops/protocol';
import { createOutboxStore } from '../notifications/store.js';
import type { HubDb } from '../shared/schema.js';
import { describeEngines, openTestStore, type TestStore } from '../testing/engines.js';
import { createTransferStore, type TransferStore } from './store.js';

let t: TestStore;
let store: TransferStore;

const prepare = (over: Partial<TransferPrepare> = {}): TransferPrepare => ({
  transferId: newId('pay'),
  requestId: newId('req'),
  payer: 'bank-a',
  payee: 'mno-b',
  amount: { value: '100', currency: 'EUR' },
  expiresAt: Date.now() + 60_000,
  ...over,
});
/** Each call in its own transaction (on PostgreSQL its own connection), as two hub instances would. */
const inTx = <T>(fn: (tx: HubDb) => Promise<T>): Promise<T> => t.db.transaction().execute(fn);
const outboxOf = async (id: string) =>
  (
    await t.db
      .selectFrom('outbox')
      .select(['processor_id', 'state', 'reason'])
      .where('transfer_id', '=', id)
      .orderBy('processor_id')
      .execute()
  ).map((r) => [r.processor_id, r.state, r.reason]);

describeEngines('transfer store', (engine) => {
  beforeAll(async () => {
    t = await openTestStore(engine);
    store = createTransferStore(t.db, createOutboxStore(t.db));
  });
  afterAll(async () => {
    await t?.discard();
  });

  it('records a transfer once, however many inserts race', async () => {
    const p = prepare();
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => inTx((tx) => store.insertReserved(tx, [p], Date.now()))),
    );
    expect(results.filter((r) => r.has(p.transferId))).toHaveLength(1);
    expect(await store.get(p.transferId)).toMatchObject({
      state: 'RESERVED',
      amount: p.amount,
      expiresAt: p.expiresAt,
      ledgerDone: false,
    });
  });

  it('ends a transfer exactly once when a fulfil, a reject and the expiry race', async () => {
    for (let round = 0; round < 10; round++) {
      const p = prepare();
      await inTx((tx) => store.insertReserved(tx, [p], Date.now()));
      const [commit, abort, expire] = await Promise.all([
        inTx((tx) =>
          store.commit(tx, [{ transferId: p.transferId, receipt: 'jwe' }], Date.now(), Date.now()),
        ),
        inTx((tx) => store.abort(tx, [{ transferId: p.transferId, reason: 'REQUEST_EXPIRED' }], Date.now())),
        inTx((tx) => store.expire(tx, [p.transferId], p.expiresAt)),
      ]);
      const all = [commit[0]!, abort[0]!, expire[0]!];
      expect(all.filter((x) => x.changed)).toHaveLength(1);
      const final = await store.get(p.transferId);
      for (const x of all) expect(x.record).toEqual(final);
      expect(await outboxOf(p.transferId)).toEqual([
        ['bank-a', final!.state, final!.reason ?? null],
        ['mno-b', final!.state, final!.reason ?? null],
      ]);
    }
  });

  it('ends a fulfil received at or after expiry as TRANSFER_EXPIRED, and keeps each receipt with its transfer', async () => {
    const late = prepare({ expiresAt: Date.now() + 1_000 });
    const onTime = [prepare(), prepare()];
    await inTx((tx) => store.insertReserved(tx, [late, ...onTime], Date.now()));
    const fulfilments = [late, ...onTime].map((p) => ({
      transferId: p.transferId,
      receipt: `r-${p.transferId}`,
    }));
    const out = await inTx((tx) => store.commit(tx, fulfilments, late.expiresAt, Date.now()));
    expect(
      out.map((x) => [x.record.transferId, x.changed, x.record.state, x.record.reason, x.record.receipt]),
    ).toEqual([
      [late.transferId, true, 'ABORTED', 'TRANSFER_EXPIRED', undefined],
      ...onTime.map((p) => [p.transferId, true, 'COMMITTED', undefined, `r-${p.transferId}`]),
    ]);
    // Again: nothing changes, and the answers say how each ended.
    const again = await inTx((tx) => store.commit(tx, fulfilments, Date.now(), Date.now()));
    expect(again.map((x) => x.changed)).toEqual([false, false, false]);
    expect(again.map((x) => x.record)).toEqual(out.map((x) => x.record));
  });

  it('refuses without notifying, finds due and behind transfers, and marks the ledger done', async () => {
    const refused = prepare();
    const due = prepare({ expiresAt: Date.now() - 10 });
    await inTx((tx) => store.insertReserved(tx, [refused, due], Date.now()));
    const [r] = await inTx((tx) =>
      store.refuse(tx, [{ transferId: refused.transferId, reason: 'NET_DEBIT_CAP_EXCEEDED' }], Date.now()),
    );
    expect(r?.record).toMatchObject({ state: 'ABORTED', reason: 'NET_DEBIT_CAP_EXCEEDED', ledgerDone: true });
    expect(await outboxOf(refused.transferId)).toEqual([]);

    expect(await store.dueForExpiry(Date.now(), 1000)).toContain(due.transferId);
    expect(await store.dueForExpiry(Date.now(), 1000)).not.toContain(refused.transferId);
    await inTx((tx) => store.expire(tx, [due.transferId], Date.now()));
    const behind = (await store.ledgerBehind(Number.MAX_SAFE_INTEGER, 1000)).map((x) => x.transferId);
    expect(behind).toContain(due.transferId);
    expect(behind).not.toContain(refused.transferId);
    await inTx((tx) => store.markLedgerDone(tx, [due.transferId]));
    expect((await store.ledgerBehind(Number.MAX_SAFE_INTEGER, 1000)).map((x) => x.transferId)).not.toContain(
      due.transferId,
    );
    expect((await store.allReserved()).map((x) => x.transferId)).not.toContain(due.transferId);
  });
});
