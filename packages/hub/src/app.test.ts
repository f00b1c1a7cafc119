import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerFor } from '@semops/node';
import { sealMessage, type Participant, type PrepareResult, type TransferPrepare } from '@semops/protocol';
import { createOutboxStore } from './notifications/store.js';
import { positionAccountId } from './positions/service.js';
import { migrateHub } from './shared/schema.js';
import { describeEngines } from './testing/engines.js';
import { startNetwork, waitFor, type TestNetwork } from './testing/network.js';
import { signReceipt } from './testing/fake-processor.js';
import { createTransferStore, type TransferRecord } from './transfers/store.js';

let net: TestNetwork;

const prepare = async (transfers: TransferPrepare[]) =>
  ((await net.a.send('transfer.prepare', { transfers })) as { results: PrepareResult[] }).results;
const eventsFor = (p: { notifications: Array<{ transferId: string }> }, id: string) =>
  p.notifications.filter((e) => e.transferId === id);

describeEngines('hub', (engine) => {
  beforeAll(async () => {
    net = await startNetwork({ ...engine.options(), forwardTimeoutMs: 250 });
    await net.deposit('bank-a', '50000');
  });
  afterAll(async () => {
    await net?.close();
  });

  describe('hub restart', () => {
    it('keeps participants, keys, positions and transfers, and delivers notifications it still owes', async () => {
      net.a.notifyOk = false;
      const committed = net.transfer();
      expect((await prepare([committed]))[0]?.state).toBe('COMMITTED');
      net.b.mode = 'hang';
      const reserved = net.transfer({ expiresAt: Date.now() + 2_500 });
      expect((await prepare([reserved]))[0]?.state).toBe('RESERVED');

      const sent = await sealMessage({ id: 'bank-a', key: net.a.signingKey }, 'hub', 'transfer.status', {
        transferIds: [committed.transferId],
      });
      const first = await fetch(`${net.hub.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jws: sent.jws }),
      });
      expect(first.status).toBe(200);
      const participants = await net.http<{ participants: Participant[] }>('GET', '/v1/participants');
      const info = await net.http('GET', '/v1/info');
      const positions = await net.http('GET', '/v1/admin/positions');
      expect(eventsFor(net.a, committed.transferId)).toEqual([]);

      await net.restartHub();
      net.a.notifyOk = true;

      expect(await net.http('GET', '/v1/participants')).toEqual(participants);
      expect(await net.http('GET', '/v1/info')).toEqual(info);
      expect(await net.http('GET', '/v1/admin/positions')).toEqual(positions);
      const rec = await net.http<TransferRecord>('GET', `/v1/admin/transfers/${committed.transferId}`);
      expect(rec.body).toMatchObject({ state: 'COMMITTED', amount: committed.amount });

      await waitFor(() => eventsFor(net.a, committed.transferId).length === 1);
      expect(eventsFor(net.a, committed.transferId)).toEqual([
        { transferId: committed.transferId, state: 'COMMITTED' },
      ]);
      // The payee stays silent: the reservation made before the restart ends at its expiry, released and told
      // to both.
      await waitFor(
        () =>
          eventsFor(net.a, reserved.transferId).length === 1 &&
          eventsFor(net.b, reserved.transferId).length === 1,
      );
      expect(eventsFor(net.a, reserved.transferId)[0]).toMatchObject({
        state: 'ABORTED',
        reason: 'TRANSFER_EXPIRED',
      });
      expect((await net.position('bank-a')).reserved).toBe('0');
      // A message accepted before the restart is still refused as a replay; new ones are served.
      const replay = await fetch(`${net.hub.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jws: sent.jws }),
      });
      expect(replay.status).toBe(409);
      net.b.mode = 'fulfil';
      expect((await prepare([net.transfer()]))[0]?.state).toBe('COMMITTED');
    });

    it('asks the payees again about open reservations after a restart', async () => {
      net.b.mode = 'hang';
      const t = net.transfer({ expiresAt: Date.now() + 20_000 });
      expect((await prepare([t]))[0]?.state).toBe('RESERVED');
      net.b.mode = 'fulfil';
      await net.restartHub();
      await waitFor(
        () => eventsFor(net.a, t.transferId).length === 1 && eventsFor(net.b, t.transferId).length === 1,
      );
      expect(eventsFor(net.a, t.transferId)).toEqual([{ transferId: t.transferId, state: 'COMMITTED' }]);
      expect((await net.position('bank-a')).reserved).toBe('0');
    });

    it('finishes what a crash left half-done: re-issues reservations, posts unposted commits', async () => {
      const before = await net.position('bank-a');
      await net.hub.close();

      // Simulate crashes at three points, writing the hub's tables as the hub would have.
      const hubStore = await net.openHubStore();
      const db = await migrateHub(hubStore);
      const ledger = await createLedgerFor(hubStore);
      const store = createTransferStore(db, createOutboxStore(db));
      const record = (t: TransferPrepare) =>
        db.transaction().execute((tx) => store.insertReserved(tx, [t], Date.now()));
      const reserveInLedger = (t: TransferPrepare) =>
        ledger.transfer({
          id: t.transferId,
          debitAccountId: positionAccountId(t.payer, 'EUR'),
          creditAccountId: positionAccountId(t.payee, 'EUR'),
          amount: BigInt(t.amount.value),
          currency: 'EUR',
          pending: true,
          code: 'payment',
          reference: t.requestId,
        });
      // 1. Recorded, crashed before the ledger reservation.
      const unreserved = net.transfer({ expiresAt: Date.now() + 1_500 });
      await record(unreserved);
      // 2. Recorded, but beyond the cap: the ledger refuses it when re-issued.
      const tooBig = net.transfer({ amount: { value: '999999999', currency: 'EUR' } });
      await record(tooBig);
      // 3. Committed, crashed before the ledger post.
      const unposted = net.transfer({ amount: { value: '700', currency: 'EUR' } });
      await record(unposted);
      await reserveInLedger(unposted);
      const receipt = await signReceipt(unposted, 'mno-b', net.b.signingKey);
      await db
        .transaction()
        .execute((tx) =>
          store.commit(tx, [{ transferId: unposted.transferId, receipt }], Date.now(), Date.now()),
        );
      await ledger.close();
      await hubStore.close();

      net.b.mode = 'hang'; // the payee stays silent, so the re-issued reservation lives until its expiry
      await net.restartHub();
      const a = await net.position('bank-a');
      expect(a.reserved).toBe('1000');
      expect(BigInt(a.position) - BigInt(before.position)).toBe(700n);
      const get = async (id: string) =>
        (await net.http<TransferRecord>('GET', `/v1/admin/transfers/${id}`)).body;
      expect(await get(unreserved.transferId)).toMatchObject({ state: 'RESERVED' });
      expect(await get(tooBig.transferId)).toMatchObject({
        state: 'ABORTED',
        reason: 'NET_DEBIT_CAP_EXCEEDED',
      });
      expect(await get(unposted.transferId)).toMatchObject({ state: 'COMMITTED', ledgerDone: true });
      await waitFor(() =>
        [unreserved, tooBig, unposted].every(
          (t) => eventsFor(net.a, t.transferId).length === 1 && eventsFor(net.b, t.transferId).length === 1,
        ),
      );
      expect(eventsFor(net.a, unreserved.transferId)[0]).toMatchObject({
        state: 'ABORTED',
        reason: 'TRANSFER_EXPIRED',
      });
      expect(eventsFor(net.a, unposted.transferId)[0]).toMatchObject({ state: 'COMMITTED' });
      expect((await net.position('bank-a')).reserved).toBe('0');
      net.b.mode = 'fulfil';
    });
  });
});
