import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLedgerFor } from '@semops/node';
import { newId, type ErrorBody, type PrepareResult, type TransferPrepare } from '@semops/protocol';
import { createOutboxStore } from '../notifications/store.js';
import { reservation } from '../transfers/ledger.js';
import { createTransferStore, type TransferRecord } from '../transfers/store.js';
import { migrateHub } from '../shared/schema.js';
import { describeEngines } from '../testing/engines.js';
import { signReceipt } from '../testing/fake-processor.js';
import { startNetwork, waitFor, type TestNetwork } from '../testing/network.js';
import type { FeeEntry } from './schedule.js';

let net: TestNetwork;

const prepare = async (transfers: TransferPrepare[], from = net.a): Promise<PrepareResult[]> =>
  ((await from.send('transfer.prepare', { transfers })) as { results: PrepareResult[] }).results;
const eventsFor = (p: { notifications: Array<{ transferId: string }> }, id: string) =>
  p.notifications.filter((e) => e.transferId === id);
const forwarded = (id: string) => net.b.prepares.flat().filter((t) => t.transferId === id);
const purchase = (over: Partial<TransferPrepare> = {}) => net.transfer({ purpose: 'purchase', ...over });

const entry = (over: Partial<FeeEntry> = {}): FeeEntry => ({
  payee: '*',
  currency: '*',
  mscBps: 100,
  mscFixed: '0',
  interchangeBps: 2000,
  ...over,
});
const setSchedule = async (entries: FeeEntry[]) => {
  const r = await net.http('PUT', '/v1/admin/fees', { entries });
  expect(r.status).toBe(200);
};

describeEngines('fees', (engine) => {
  beforeAll(async () => {
    net = await startNetwork({ ...engine.options(), forwardTimeoutMs: 250 });
    await net.deposit('bank-a', '1000000');
  });
  afterAll(async () => {
    await net?.close();
  });
  beforeEach(() => {
    net.b.mode = 'fulfil';
  });

  describe('fee schedule endpoints', () => {
    it('starts empty, is replaced as a whole, and a bad schedule changes nothing', async () => {
      expect(await net.http('GET', '/v1/admin/fees')).toEqual({ status: 200, body: { entries: [] } });
      const good = [entry({ payee: 'mno-b', currency: 'EUR', mscBps: 200, mscFixed: '5' }), entry()];
      const put = await net.http('PUT', '/v1/admin/fees', { entries: good });
      expect(put).toEqual({ status: 200, body: { entries: [good[1], good[0]] } });
      expect((await net.http('GET', '/v1/admin/fees')).body).toEqual({ entries: [good[1], good[0]] });

      const bad = await net.http<ErrorBody>('PUT', '/v1/admin/fees', {
        entries: [entry({ payee: 'bank-z' }), entry({ mscBps: 20_000 }), entry()],
      });
      expect(bad.status).toBe(422);
      expect(bad.body.error.code).toBe('FEE_SCHEDULE_INVALID');
      expect(bad.body.error.message).toContain('nothing was changed');
      expect(bad.body.error.details).toEqual({
        issues: [{ path: 'entries.1.mscBps', message: expect.any(String) as string }],
      });
      const semantic = await net.http<ErrorBody>('PUT', '/v1/admin/fees', {
        entries: [entry({ payee: 'bank-z' }), entry(), entry({ interchangeBps: 0 })],
      });
      expect(semantic.body.error.details).toEqual({
        issues: [
          { path: 'entries.0.payee', message: 'bank-z is not a registered processor' },
          { path: 'entries.2', message: 'duplicate of entries.1 (payee *, currency *); keep one' },
        ],
      });
      for (const body of [{}, { entries: 'all' }, []]) {
        const r = await net.http<ErrorBody>('PUT', '/v1/admin/fees', body);
        expect([r.status, r.body.error.code]).toEqual([422, 'FEE_SCHEDULE_INVALID']);
      }
      expect((await net.http('GET', '/v1/admin/fees')).body).toEqual({ entries: [good[1], good[0]] });
      expect((await net.http('GET', '/v1/admin/fees', undefined, null)).status).toBe(401);
      expect((await net.http('PUT', '/v1/admin/fees', { entries: [] }, 'wrong-token-123')).status).toBe(401);
    });
  });

  describe('fees of a purchase', () => {
    it('fixes them at prepare and tells the payee (replacing the payer’s), the payer, both notifications and status', async () => {
      // mno-b EUR: 2 % + 0.05, half of it as interchange.
      await setSchedule([
        entry(),
        entry({ payee: 'mno-b', currency: 'EUR', mscBps: 200, mscFixed: '5', interchangeBps: 5000 }),
      ]);
      const fees = { msc: '25', interchange: '12' }; // 20 + 5; 12.5 each, the odd unit to the payee
      const before = await net.position('bank-a');
      const beforeB = await net.position('mno-b');
      const fx = {
        source: { value: '404413', currency: 'HUF' },
        margin: { value: '1963', currency: 'HUF' },
        fee: { value: '10000', currency: 'HUF' },
        rate: '394.41225',
      };
      const t = purchase({ fees: { msc: '1', interchange: '1' }, fx });
      const [r] = await prepare([t]);
      expect(r).toMatchObject({ transferId: t.transferId, state: 'COMMITTED', fees });

      // The payee gets the hub's fees, not the payer's, and not the payer's conversion.
      const { fees: _payerFees, fx: _fx, ...rest } = t;
      expect(forwarded(t.transferId)).toEqual([{ ...rest, fees }]);

      await waitFor(
        () => eventsFor(net.a, t.transferId).length === 1 && eventsFor(net.b, t.transferId).length === 1,
      );
      for (const p of [net.a, net.b])
        expect(eventsFor(p, t.transferId)).toEqual([{ transferId: t.transferId, state: 'COMMITTED', fees }]);
      const status = (await net.a.send('transfer.status', { transferIds: [t.transferId] })) as {
        transfers: Array<{ fees?: unknown }>;
      };
      expect(status.transfers[0]?.fees).toEqual(fees);

      const windows = await net.http<{ windows: Array<{ windowId: string; state: string }> }>(
        'GET',
        '/v1/admin/settlement/windows',
      );
      const open = windows.body.windows.find((w) => w.state === 'OPEN');
      const rec = await net.http<TransferRecord>('GET', `/v1/admin/transfers/${t.transferId}`);
      expect(rec.body).toMatchObject({
        state: 'COMMITTED',
        purpose: 'purchase',
        fees,
        fx,
        windowId: open?.windowId,
      });

      // The interchange moved back with the commit: the payer owes the amount less the interchange.
      const a = await net.position('bank-a');
      const b = await net.position('mno-b');
      expect(BigInt(a.position) - BigInt(before.position)).toBe(1000n - 12n);
      expect(BigInt(b.position) - BigInt(beforeB.position)).toBe(-(1000n - 12n));
      expect(BigInt(b.available) - BigInt(beforeB.available)).toBe(1000n - 12n);
      expect(a.reserved).toBe('0');

      // The same prepare again: the same answer, nothing booked twice.
      const [again] = await prepare([t]);
      expect(again).toEqual(r);
      expect(await net.position('bank-a')).toEqual(a);
      // The conversion fee is part of what the payer prepared: another one, or none, is another transfer.
      const { fee: _fee, ...noFee } = fx;
      for (const other of [{ ...fx, fee: { value: '9999', currency: 'HUF' } }, noFee]) {
        const [conflict] = await prepare([{ ...t, fx: other }]);
        expect(conflict).toMatchObject({ state: 'ABORTED', error: { code: 'TRANSFER_CONFLICT' } });
      }
      expect((await net.http<TransferRecord>('GET', `/v1/admin/transfers/${t.transferId}`)).body.fx).toEqual(
        fx,
      );
    });

    it('uses the default entry for other payees and currencies, and no entry means no fees', async () => {
      await setSchedule([entry()]);
      const t = purchase({ amount: { value: '2000', currency: 'EUR' } });
      const [r] = await prepare([t]);
      expect(r?.fees).toEqual({ msc: '20', interchange: '4' });
      await setSchedule([]);
      const free = purchase();
      const [f] = await prepare([free]);
      expect(f).toMatchObject({ state: 'COMMITTED' });
      expect(f?.fees).toBeUndefined();
      expect(forwarded(free.transferId)[0]?.fees).toBeUndefined();
    });

    it('sends an MSC without interchange when the schedule pays none (or it rounds to nothing)', async () => {
      await setSchedule([
        entry({ interchangeBps: 0 }),
        entry({ payee: 'mno-b', currency: 'EUR', interchangeBps: 2000 }),
      ]);
      const before = await net.position('mno-b');
      // 1 % of 1.00 EUR is 1 cent, and 20 % of it rounds to nothing.
      const small = purchase({ amount: { value: '100', currency: 'EUR' } });
      const [r] = await prepare([small]);
      expect(r).toMatchObject({ state: 'COMMITTED', fees: { msc: '1', interchange: '0' } });
      expect(forwarded(small.transferId)[0]?.fees).toEqual({ msc: '1', interchange: '0' });
      const after = await net.position('mno-b');
      expect(BigInt(before.position) - BigInt(after.position)).toBe(100n);
    });

    it('charges nothing for person-to-person transfers and refunds, and drops fees a payer sends', async () => {
      await setSchedule([entry()]);
      const before = await net.position('bank-a');
      const p2p = net.transfer({ fees: { msc: '10', interchange: '2' } });
      const refund = purchase({ refundOf: newId('pay') });
      const results = await prepare([p2p, refund]);
      for (const r of results) {
        expect(r.state).toBe('COMMITTED');
        expect(r.fees).toBeUndefined();
      }
      expect(forwarded(p2p.transferId)[0]).not.toHaveProperty('fees');
      expect(forwarded(refund.transferId)[0]).not.toHaveProperty('fees');
      const after = await net.position('bank-a');
      expect(BigInt(after.position) - BigInt(before.position)).toBe(2000n);
    });

    it('keeps the fees fixed at prepare when the schedule changes before the payee answers', async () => {
      await setSchedule([entry()]);
      net.b.mode = 'slow-fulfil';
      net.b.slowMs = 600;
      const fees = { msc: '10', interchange: '2' };
      const t = purchase({ expiresAt: Date.now() + 20_000 });
      const [first] = await prepare([t]);
      expect(first).toEqual({ transferId: t.transferId, state: 'RESERVED', fees });
      await setSchedule([entry({ mscBps: 500 })]);
      await waitFor(() => eventsFor(net.a, t.transferId).length === 1);
      expect(eventsFor(net.a, t.transferId)).toEqual([
        { transferId: t.transferId, state: 'COMMITTED', fees },
      ]);
      const [again] = await prepare([t]);
      expect(again).toMatchObject({ state: 'COMMITTED', fees });
      expect(forwarded(t.transferId).map((x) => x.fees)).toEqual([fees]);
    });

    it('refuses a conversion report that does not add up, and records nothing', async () => {
      const huf = (value: string) => ({ value, currency: 'HUF' });
      const cases: Array<[NonNullable<TransferPrepare['fx']>, string]> = [
        [
          { source: { value: '100', currency: 'EUR' }, margin: { value: '1', currency: 'EUR' }, rate: '1' },
          'its currency must differ from the transfer currency',
        ],
        [
          { source: huf('100'), margin: { value: '1', currency: 'JPY' }, rate: '1' },
          'fx.source and fx.margin must both be in the currency the customer paid in',
        ],
        [{ source: huf('100'), margin: huf('101'), rate: '1' }, 'fx.margin cannot exceed fx.source'],
        // The conversion fee: in the customer's currency, and part of what the customer paid.
        [
          { source: huf('100'), margin: huf('1'), fee: { value: '1', currency: 'EUR' }, rate: '1' },
          'fx.fee must be in the currency the customer paid in',
        ],
        [
          { source: huf('100'), margin: huf('0'), fee: huf('101'), rate: '1' },
          'fx.fee cannot exceed fx.source',
        ],
        [
          { source: huf('100'), margin: huf('60'), fee: huf('41'), rate: '1' },
          'fx.margin and fx.fee together cannot exceed fx.source',
        ],
      ];
      for (const [fx, message] of cases) {
        const t = purchase({ fx });
        const [r] = await prepare([t]);
        expect(r).toMatchObject({ state: 'ABORTED', error: { code: 'VALIDATION_FAILED' } });
        expect(r?.error?.message).toContain(message);
        expect((await net.http('GET', `/v1/admin/transfers/${t.transferId}`)).status).toBe(404);
      }
      // At the limit: margin and fee together are the whole amount paid.
      const [edge] = await prepare([
        purchase({ fx: { source: huf('100'), margin: huf('60'), fee: huf('40'), rate: '1' } }),
      ]);
      expect(edge?.state).toBe('COMMITTED');
    });

    it('books the interchange exactly once with the post, across a crash and restarts', async () => {
      const before = await net.position('bank-a');
      const beforeB = await net.position('mno-b');
      await net.hub.close();
      // A purchase committed at the hub, crashed before the ledger post (and its interchange).
      const hubStore = await net.openHubStore();
      const db = await migrateHub(hubStore);
      const ledger = await createLedgerFor(hubStore);
      const store = createTransferStore(db, createOutboxStore(db));
      const t = purchase({
        amount: { value: '5000', currency: 'EUR' },
        fees: { msc: '50', interchange: '10' },
      });
      await db.transaction().execute((tx) => store.insertReserved(tx, [t], Date.now()));
      const [reserved] = await ledger.execute([reservation(t)]);
      expect(reserved?.ok).toBe(true);
      const receipt = await signReceipt(t, 'mno-b', net.b.signingKey);
      await db
        .transaction()
        .execute((tx) => store.commit(tx, [{ transferId: t.transferId, receipt }], Date.now(), Date.now()));
      await ledger.close();
      await hubStore.close();

      for (let i = 0; i < 2; i++) {
        await net.restartHub();
        const a = await net.position('bank-a');
        const b = await net.position('mno-b');
        expect(BigInt(a.position) - BigInt(before.position)).toBe(5000n - 10n);
        expect(BigInt(b.position) - BigInt(beforeB.position)).toBe(-(5000n - 10n));
        expect(a.reserved).toBe(before.reserved);
      }
      const rec = await net.http<TransferRecord>('GET', `/v1/admin/transfers/${t.transferId}`);
      expect(rec.body).toMatchObject({
        state: 'COMMITTED',
        ledgerDone: true,
        fees: { msc: '50', interchange: '10' },
      });
    });
  });
});
