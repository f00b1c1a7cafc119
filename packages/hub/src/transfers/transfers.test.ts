import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  RECEIPT_TYP,
  decryptJson,
  newId,
  verifyJson,
  importSigningKey,
  type ErrorBody,
  type PrepareResult,
  type TransferPrepare,
} from '@semops/protocol';
import { describeEngines } from '../testing/engines.js';
import { startNetwork, waitFor, type TestNetwork } from '../testing/network.js';
import type { TransferRecord } from './store.js';

let net: TestNetwork;

async function prepare(transfers: TransferPrepare[], from = net.a): Promise<PrepareResult[]> {
  const answer = (await from.send('transfer.prepare', { transfers })) as { results: PrepareResult[] };
  return answer.results;
}

const eventsFor = (p: { notifications: Array<{ transferId: string }> }, id: string) =>
  p.notifications.filter((e) => e.transferId === id);

describeEngines('transfers', (engine) => {
  beforeAll(async () => {
    net = await startNetwork({ ...engine.options(), forwardTimeoutMs: 250 });
    await net.deposit('bank-a', '100000');
  });
  afterAll(async () => {
    await net?.close();
  });
  beforeEach(() => {
    net.a.mode = 'fulfil';
    net.b.mode = 'fulfil';
    net.a.notifyOk = true;
    net.b.notifyOk = true;
  });

  describe('transfer.prepare', () => {
    it('commits on the payee fulfil: receipt to the payer, positions moved, both processors notified', async () => {
      const beforeA = await net.position('bank-a');
      const t = net.transfer();
      const [r] = await prepare([t]);
      expect(r).toMatchObject({ transferId: t.transferId, state: 'COMMITTED' });
      // The hub passes the receipt on sealed: only the payer processor can open it.
      const { receipt: signed } = (await decryptJson(r!.receipt!, net.a.encryptionPrivateKey)) as {
        receipt: string;
      };
      const receipt = (await verifyJson(
        signed,
        await importSigningKey(net.b.signing.publicJwk),
        RECEIPT_TYP,
      )) as {
        paymentId: string;
      };
      expect(receipt.paymentId).toBe(t.transferId);
      expect(net.b.prepares.at(-1)).toEqual([t]);

      const a = await net.position('bank-a');
      const b = await net.position('mno-b');
      expect(BigInt(a.position) - BigInt(beforeA.position)).toBe(1000n);
      expect(BigInt(beforeA.available) - BigInt(a.available)).toBe(1000n);
      expect(a.reserved).toBe('0');
      expect(BigInt(b.position)).toBeLessThanOrEqual(-1000n);

      await waitFor(
        () => eventsFor(net.a, t.transferId).length === 1 && eventsFor(net.b, t.transferId).length === 1,
      );
      expect(eventsFor(net.a, t.transferId)).toEqual([{ transferId: t.transferId, state: 'COMMITTED' }]);
      expect(eventsFor(net.b, t.transferId)).toEqual([{ transferId: t.transferId, state: 'COMMITTED' }]);

      const rec = await net.http<TransferRecord>('GET', `/v1/admin/transfers/${t.transferId}`);
      expect(rec.status).toBe(200);
      expect(rec.body).toMatchObject({
        transferId: t.transferId,
        state: 'COMMITTED',
        payer: 'bank-a',
        payee: 'mno-b',
        amount: t.amount,
      });
    });

    it('aborts on the payee reject with its error code and releases the reservation', async () => {
      net.b.mode = 'reject';
      const before = await net.position('bank-a');
      const t = net.transfer();
      const [r] = await prepare([t]);
      expect(r).toEqual({
        transferId: t.transferId,
        state: 'ABORTED',
        error: { code: 'REQUEST_ALREADY_PAID', message: 'Already paid.' },
      });
      expect(await net.position('bank-a')).toEqual(before);
      await waitFor(
        () => eventsFor(net.a, t.transferId).length === 1 && eventsFor(net.b, t.transferId).length === 1,
      );
      expect(eventsFor(net.b, t.transferId)).toEqual([
        { transferId: t.transferId, state: 'ABORTED', reason: 'REQUEST_ALREADY_PAID' },
      ]);
    });

    it('aborts when the payee fulfils without a sealed receipt for the payer', async () => {
      net.b.mode = 'no-receipt';
      const before = await net.position('bank-a');
      const t = net.transfer();
      const [r] = await prepare([t]);
      expect(r).toMatchObject({ state: 'ABORTED', error: { code: 'TRANSFER_REJECTED' } });
      expect(await net.position('bank-a')).toEqual(before);
    });

    it('refuses a transfer beyond the net debit cap and reserves nothing', async () => {
      const before = await net.position('bank-a');
      const asked = net.b.prepares.length;
      const t = net.transfer({
        amount: { value: (BigInt(before.available) + 1n).toString(), currency: 'EUR' },
      });
      const [r] = await prepare([t]);
      expect(r).toMatchObject({
        transferId: t.transferId,
        state: 'ABORTED',
        error: { code: 'NET_DEBIT_CAP_EXCEEDED' },
      });
      expect(await net.position('bank-a')).toEqual(before);
      expect(net.b.prepares.length).toBe(asked);
      // The same amount fits once the payer adds liquidity, under a new transfer id.
      await net.deposit('bank-a', '1');
      const [ok] = await prepare([{ ...t, transferId: newId('pay') }]);
      expect(ok?.state).toBe('COMMITTED');
      await net.deposit('bank-a', '100000');
    });

    it('keeps a transfer RESERVED while the payee is silent, then aborts it at expiry and releases it', async () => {
      net.b.mode = 'hang';
      const before = await net.position('bank-a');
      const t = net.transfer({ expiresAt: Date.now() + 700 });
      // The hub waits forwardTimeoutMs (250 ms here), then answers with the state at that time.
      const [r] = await prepare([t]);
      expect(r).toEqual({ transferId: t.transferId, state: 'RESERVED' });
      const during = await net.position('bank-a');
      expect(BigInt(during.reserved) - BigInt(before.reserved)).toBe(1000n);
      expect(BigInt(before.available) - BigInt(during.available)).toBe(1000n);
      const status = async () =>
        (
          (await net.a.send('transfer.status', { transferIds: [t.transferId] })) as {
            transfers: Array<{ state: string; reason?: string }>;
          }
        ).transfers[0];
      expect((await status())?.state).toBe('RESERVED');

      await waitFor(
        () => eventsFor(net.a, t.transferId).length === 1 && eventsFor(net.b, t.transferId).length === 1,
      );
      expect(Date.now()).toBeGreaterThanOrEqual(t.expiresAt);
      expect(eventsFor(net.a, t.transferId)).toEqual([
        { transferId: t.transferId, state: 'ABORTED', reason: 'TRANSFER_EXPIRED' },
      ]);
      expect(eventsFor(net.b, t.transferId)).toEqual([
        { transferId: t.transferId, state: 'ABORTED', reason: 'TRANSFER_EXPIRED' },
      ]);
      expect(await net.position('bank-a')).toEqual(before);
      expect(await status()).toMatchObject({ state: 'ABORTED', reason: 'TRANSFER_EXPIRED' });
      // A payer retrying the same prepare now learns the outcome.
      const [again] = await prepare([t]);
      expect(again).toMatchObject({ state: 'ABORTED', error: { code: 'TRANSFER_EXPIRED' } });
    });

    it('commits a fulfil that comes after the payer was answered but before expiry', async () => {
      net.b.mode = 'slow-fulfil';
      net.b.slowMs = 400;
      const t = net.transfer({ expiresAt: Date.now() + 3_000 });
      const [r] = await prepare([t]);
      expect(r).toEqual({ transferId: t.transferId, state: 'RESERVED' });
      await waitFor(() => eventsFor(net.a, t.transferId).length === 1);
      expect(eventsFor(net.a, t.transferId)).toEqual([{ transferId: t.transferId, state: 'COMMITTED' }]);
      const [again] = await prepare([t]);
      expect(again).toMatchObject({ state: 'COMMITTED', receipt: expect.any(String) as string });
    });

    it('keeps a transfer ABORTED when the fulfil arrives after expiry', async () => {
      net.b.mode = 'slow-fulfil';
      net.b.slowMs = 600;
      const before = await net.position('bank-a');
      const t = net.transfer({ expiresAt: Date.now() + 300 });
      const [r] = await prepare([t]);
      expect(['RESERVED', 'ABORTED']).toContain(r?.state);
      await waitFor(() => eventsFor(net.a, t.transferId).length === 1);
      // The payee has sent its late fulfil (after the hub gave up waiting at expiry).
      await waitFor(() => net.b.answered.includes(t.transferId));
      expect(eventsFor(net.a, t.transferId)).toEqual([
        { transferId: t.transferId, state: 'ABORTED', reason: 'TRANSFER_EXPIRED' },
      ]);
      expect(eventsFor(net.b, t.transferId)).toEqual([
        { transferId: t.transferId, state: 'ABORTED', reason: 'TRANSFER_EXPIRED' },
      ]);
      expect(await net.position('bank-a')).toEqual(before);
      const rec = await net.http<TransferRecord>('GET', `/v1/admin/transfers/${t.transferId}`);
      expect(rec.body.state).toBe('ABORTED');
    });

    it('is idempotent by transfer id: same content gives the current state, other content TRANSFER_CONFLICT', async () => {
      const t = net.transfer();
      const [first] = await prepare([t]);
      expect(first?.state).toBe('COMMITTED');
      const asked = net.b.prepares.length;
      const position = await net.position('bank-a');
      const [again] = await prepare([t]);
      expect(again).toEqual(first);
      expect(net.b.prepares.length).toBe(asked);
      const [conflict] = await prepare([{ ...t, amount: { value: '999', currency: 'EUR' } }]);
      expect(conflict).toMatchObject({
        transferId: t.transferId,
        state: 'ABORTED',
        error: { code: 'TRANSFER_CONFLICT' },
      });
      expect(await net.position('bank-a')).toEqual(position);
      const rec = await net.http<TransferRecord>('GET', `/v1/admin/transfers/${t.transferId}`);
      expect(rec.body).toMatchObject({ state: 'COMMITTED', amount: { value: '1000' } });
    });

    it('handles duplicates inside one batch and groups transfers by payee', async () => {
      const t1 = net.transfer();
      const t2 = net.transfer({ amount: { value: '250', currency: 'EUR' } });
      const asked = net.b.prepares.length;
      const results = await prepare([t1, t2, t1]);
      expect(results.map((r) => [r.transferId, r.state])).toEqual([
        [t1.transferId, 'COMMITTED'],
        [t2.transferId, 'COMMITTED'],
        [t1.transferId, 'COMMITTED'],
      ]);
      expect(net.b.prepares.length).toBe(asked + 1);
      expect(net.b.prepares.at(-1)?.map((x) => x.transferId)).toEqual([t1.transferId, t2.transferId]);
    });

    it('refuses, transfer by transfer, what the sender may not or cannot prepare', async () => {
      const before = await net.position('bank-a');
      const asked = net.b.prepares.length;
      const cases: Array<[TransferPrepare, string]> = [
        [net.transfer({ expiresAt: Date.now() - 1 }), 'TRANSFER_EXPIRED'],
        [net.transfer({ payee: 'bank-a' }), 'VALIDATION_FAILED'],
        [net.transfer({ payee: 'bank-z' }), 'PARTICIPANT_NOT_FOUND'],
        [net.transfer({ amount: { value: '100', currency: 'USD' } }), 'CURRENCY_NOT_SUPPORTED'],
        [net.transfer({ expiresAt: Date.now() + 25 * 3_600_000 }), 'VALIDATION_FAILED'],
        [net.transfer({ payer: 'mno-b', payee: 'bank-a' }), 'FORBIDDEN'],
      ];
      const good = net.transfer();
      const results = await prepare([...cases.map(([t]) => t), good]);
      results.slice(0, -1).forEach((r, i) => {
        expect(r).toMatchObject({
          transferId: cases[i]![0].transferId,
          state: 'ABORTED',
          error: { code: cases[i]![1] },
        });
      });
      expect(results.at(-1)?.state).toBe('COMMITTED');
      expect(net.b.prepares.length).toBe(asked + 1);
      const after = await net.position('bank-a');
      expect(BigInt(after.position) - BigInt(before.position)).toBe(1000n);
      for (const [t] of cases) {
        const rec = await net.http<ErrorBody>('GET', `/v1/admin/transfers/${t.transferId}`);
        expect(rec.body.error.code).toBe('TRANSFER_NOT_FOUND');
      }
    });

    it('refuses a prepare sent by a processor that is not the payer, even for an existing transfer', async () => {
      const t = net.transfer();
      const [ok] = await prepare([t]);
      expect(ok?.state).toBe('COMMITTED');
      const [r] = await prepare([t], net.b);
      expect(r).toMatchObject({ state: 'ABORTED', error: { code: 'FORBIDDEN' } });
      expect(r?.receipt).toBeUndefined();
    });

    it('retries notifications with back-off until the processor acknowledges', async () => {
      net.a.notifyOk = false;
      const t = net.transfer();
      const [r] = await prepare([t]);
      expect(r?.state).toBe('COMMITTED');
      await waitFor(() => eventsFor(net.b, t.transferId).length === 1);
      // bank-a refuses the notification, and the hub tries again (more than once) rather than giving up.
      await waitFor(() => eventsFor({ notifications: net.a.refusedNotifications }, t.transferId).length >= 2);
      expect(eventsFor(net.a, t.transferId)).toEqual([]);
      net.a.notifyOk = true;
      await waitFor(() => eventsFor(net.a, t.transferId).length === 1, 5_000);
      expect(eventsFor(net.a, t.transferId)).toEqual([{ transferId: t.transferId, state: 'COMMITTED' }]);
    });
  });

  describe('transfer.status', () => {
    it('answers the state to the payer and the payee, UNKNOWN to anyone else and for unseen ids', async () => {
      const t = net.transfer();
      await prepare([t]);
      const unseen = newId('pay');
      const asA = (await net.a.send('transfer.status', { transferIds: [t.transferId, unseen] })) as {
        transfers: unknown[];
      };
      expect(asA.transfers).toEqual([
        {
          transferId: t.transferId,
          state: 'COMMITTED',
          amount: t.amount,
          payer: 'bank-a',
          payee: 'mno-b',
          expiresAt: t.expiresAt,
        },
        { transferId: unseen, state: 'UNKNOWN' },
      ]);
      const asB = (await net.b.send('transfer.status', { transferIds: [t.transferId] })) as {
        transfers: Array<{ state: string }>;
      };
      expect(asB.transfers[0]?.state).toBe('COMMITTED');
    });
  });
});
