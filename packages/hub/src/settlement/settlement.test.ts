import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLedgerFor } from '@semops/node';
import type { ErrorBody, PrepareResult, TransferPrepare } from '@semops/protocol';
import { createOutboxStore } from '../notifications/store.js';
import type { PositionView } from '../positions/service.js';
import { migrateHub } from '../shared/schema.js';
import { describeEngines } from '../testing/engines.js';
import { signReceipt, type FakeProcessor } from '../testing/fake-processor.js';
import { settlementBookings, settlementSums } from '../testing/ledger-rows.js';
import { startNetwork, waitFor, type TestNetwork } from '../testing/network.js';
import { reservation } from '../transfers/ledger.js';
import { createTransferStore, type TransferRecord } from '../transfers/store.js';
import type { WindowReport } from './report.js';
import type { WindowTransferView, WindowView } from './service.js';

let net: TestNetwork;

const prepare = async (from: FakeProcessor, transfers: TransferPrepare[]): Promise<PrepareResult[]> =>
  ((await from.send('transfer.prepare', { transfers })) as { results: PrepareResult[] }).results;
const pay = async (from: FakeProcessor, over: Partial<TransferPrepare>): Promise<TransferPrepare> => {
  const t = net.transfer({ payer: from.id, ...over });
  const [r] = await prepare(from, [t]);
  // On a busy machine the payee's fulfil may come after the hub answered the payer (forwardTimeoutMs): the
  // transfer is then still RESERVED in the answer and commits when the fulfil arrives.
  expect(['COMMITTED', 'RESERVED']).toContain(r?.state);
  if (r?.state === 'RESERVED') {
    await waitFor(
      async () =>
        (await net.http<TransferRecord>('GET', `/v1/admin/transfers/${t.transferId}`)).body.state ===
        'COMMITTED',
      5_000,
    );
  }
  return t;
};
const windows = async () =>
  (await net.http<{ windows: WindowView[] }>('GET', '/v1/admin/settlement/windows')).body.windows;
const closeWindow = (body: unknown = {}) =>
  net.http<WindowReport & ErrorBody>('POST', '/v1/admin/settlement/windows/close', body);
const positions = async () =>
  (await net.http<{ positions: PositionView[] }>('GET', '/v1/admin/positions')).body.positions;
const bookings = async (windowId: string) => {
  const store = await net.openHubStore();
  try {
    return await settlementBookings(store, windowId);
  } finally {
    await store.close();
  }
};
const reportOf = async (windowId: string) =>
  (await net.http<WindowReport>('GET', `/v1/admin/settlement/windows/${windowId}/report`)).body;
const withdraw = (processorId: string, value: string) =>
  net.http<PositionView & ErrorBody>('POST', '/v1/admin/liquidity', {
    processorId,
    amount: { value, currency: 'EUR' },
    direction: 'withdraw',
  });

const LIQUIDITY = { EUR: '1000000', HUF: '100000000' } as const;

describeEngines('settlement', (engine) => {
  beforeAll(async () => {
    net = await startNetwork(
      { ...engine.options(), forwardTimeoutMs: 250, settlementRetryMs: 100 },
      { third: true, currencies: ['EUR', 'HUF'] },
    );
    for (const pid of ['bank-a', 'mno-b', 'bank-c'])
      for (const [cur, value] of Object.entries(LIQUIDITY)) await net.deposit(pid, value, cur);
    const r = await net.http('PUT', '/v1/admin/fees', {
      entries: [{ payee: '*', currency: '*', mscBps: 100, mscFixed: '0', interchangeBps: 2000 }],
    });
    expect(r.status).toBe(200);
  });
  afterAll(async () => {
    await net?.close();
  });
  beforeEach(() => {
    for (const p of [net.a, net.b, net.c!]) p.noticeMode = 'book';
  });

  describe('closing a window', () => {
    let report: WindowReport;
    /** The positions just before the close. */
    let beforeClose: PositionView[];
    const c = () => net.c!;

    it('reports the worked example: nets per currency and processor that sum to zero, who pays whom, every fee', async () => {
      const [open] = await windows();
      expect(open).toMatchObject({ state: 'OPEN', transfers: 0 });
      // docs/settlement.md: bank-c (HUF customers) pays mno-b 10.00 EUR, mno-b pays bank-c 5000.00 HUF,
      // bank-a pays mno-b 20.00 EUR; 1 % MSC, 20 % of it interchange. bank-c charges a 100.00 HUF
      // conversion fee, mno-b none (it reports no fee).
      const fx1 = {
        source: { value: '404413', currency: 'HUF' },
        margin: { value: '1963', currency: 'HUF' },
        fee: { value: '10000', currency: 'HUF' },
        rate: '394.41225',
      };
      const fx2 = {
        source: { value: '1280', currency: 'EUR' },
        margin: { value: '6', currency: 'EUR' },
        rate: '0.0025580',
      };
      const p1 = await pay(c(), {
        payee: 'mno-b',
        amount: { value: '1000', currency: 'EUR' },
        purpose: 'purchase',
        fx: fx1,
      });
      const p2 = await pay(net.b, {
        payee: 'bank-c',
        amount: { value: '500000', currency: 'HUF' },
        purpose: 'purchase',
        fx: fx2,
      });
      const p3 = await pay(net.a, {
        payee: 'mno-b',
        amount: { value: '2000', currency: 'EUR' },
        purpose: 'purchase',
      });
      expect((await windows())[0]).toMatchObject({ windowId: open!.windowId, state: 'OPEN', transfers: 3 });

      beforeClose = await positions();
      const closed = await closeWindow();
      expect(closed.status).toBe(200);
      report = closed.body;
      expect(report).toMatchObject({ windowId: open!.windowId, state: 'CLOSED', transfers: 3 });
      expect(report.closedAt).toBeGreaterThanOrEqual(report.openedAt);
      const line = (currency: string, processorId: string, more: Record<string, string | number>) => ({
        currency,
        processorId,
        sent: '0',
        received: '0',
        interchangePaid: '0',
        interchangeReceived: '0',
        msc: '0',
        fxMargin: '0',
        fxFee: '0',
        ...more,
      });
      expect(report.positions).toEqual([
        line('EUR', 'bank-a', { sent: '2000', interchangeReceived: '4', transfers: 1, net: '-1996' }),
        line('EUR', 'bank-c', { sent: '1000', interchangeReceived: '2', transfers: 1, net: '-998' }),
        line('EUR', 'mno-b', {
          received: '3000',
          interchangePaid: '6',
          msc: '30',
          fxMargin: '6',
          transfers: 2,
          net: '2994',
        }),
        line('HUF', 'bank-c', {
          received: '500000',
          interchangePaid: '1000',
          msc: '5000',
          fxMargin: '1963',
          fxFee: '10000',
          transfers: 1,
          net: '499000',
        }),
        line('HUF', 'mno-b', { sent: '500000', interchangeReceived: '1000', transfers: 1, net: '-499000' }),
      ]);
      expect(report.currencies).toEqual([
        { currency: 'EUR', transfers: 2, volume: '3000', interchange: '6', net: '0' },
        { currency: 'HUF', transfers: 1, volume: '500000', interchange: '1000', net: '0' },
      ]);
      for (const cur of ['EUR', 'HUF']) {
        const sum = report.positions
          .filter((p) => p.currency === cur)
          .reduce((s, p) => s + BigInt(p.net), 0n);
        expect(sum).toBe(0n);
      }
      expect(report.instructions).toEqual([
        { currency: 'EUR', from: 'bank-a', to: 'mno-b', amount: '1996' },
        { currency: 'EUR', from: 'bank-c', to: 'mno-b', amount: '998' },
        { currency: 'HUF', from: 'mno-b', to: 'bank-c', amount: '499000' },
      ]);
      expect(report.fees).toEqual([
        {
          transferId: p1.transferId,
          payer: 'bank-c',
          payee: 'mno-b',
          amount: p1.amount,
          msc: '10',
          interchange: '2',
          fxMargin: fx1.margin,
          fxFee: fx1.fee,
        },
        {
          transferId: p2.transferId,
          payer: 'mno-b',
          payee: 'bank-c',
          amount: p2.amount,
          msc: '5000',
          interchange: '1000',
          fxMargin: fx2.margin,
        },
        {
          transferId: p3.transferId,
          payer: 'bank-a',
          payee: 'mno-b',
          amount: p3.amount,
          msc: '20',
          interchange: '4',
        },
      ]);
      expect(report.settlement?.map((s) => [s.processorId, s.booked])).toEqual([
        ['bank-a', true],
        ['bank-c', true],
        ['mno-b', true],
      ]);
    });

    it('turns every position into liquidity: a payer’s down by its net, a receiver’s up, available as it was', async () => {
      const netOf = (p: { processorId: string; currency: string }) =>
        BigInt(
          report.positions.find((l) => l.processorId === p.processorId && l.currency === p.currency)?.net ??
            '0',
        );
      const after = await positions();
      expect(after.map((p) => [p.processorId, p.currency])).toEqual(
        beforeClose.map((p) => [p.processorId, p.currency]),
      );
      after.forEach((p, i) => {
        const L = BigInt(LIQUIDITY[p.currency as keyof typeof LIQUIDITY]);
        const N = netOf(p);
        // Before: the deposit, a position of −net (owes what it pays), available L + net.
        expect(beforeClose[i]).toEqual({
          processorId: p.processorId,
          currency: p.currency,
          liquidity: L.toString(),
          position: (-N).toString(),
          reserved: '0',
          available: (L + N).toString(),
        });
        // After: the net moved into (or out of) the liquidity; the position is zero; available has not moved.
        expect(p).toEqual({
          processorId: p.processorId,
          currency: p.currency,
          liquidity: (L + N).toString(),
          position: '0',
          reserved: '0',
          available: beforeClose[i]!.available,
        });
      });
      expect(after.map((p) => [p.processorId, p.currency, p.liquidity])).toEqual([
        ['bank-a', 'EUR', '998004'], // 1,000,000 − 1996
        ['bank-a', 'HUF', '100000000'], // no transfers in HUF
        ['bank-c', 'EUR', '999002'], // − 998
        ['bank-c', 'HUF', '100499000'], // + 499,000
        ['mno-b', 'EUR', '1002994'], // + 2994
        ['mno-b', 'HUF', '99501000'], // − 499,000
      ]);

      // In the ledger: one booking per processor and currency with a net, stl → liq for a payer and
      // liq → stl for a receiver; the settlement accounts sum to zero per currency.
      const w = report.windowId;
      const rows = await bookings(w);
      expect(rows).toEqual([
        {
          id: `${w}:bank-a:EUR`,
          debit: 'stl:bank-a:EUR',
          credit: 'liq:bank-a:EUR',
          amount: 1996n,
          currency: 'EUR',
        },
        {
          id: `${w}:bank-c:EUR`,
          debit: 'stl:bank-c:EUR',
          credit: 'liq:bank-c:EUR',
          amount: 998n,
          currency: 'EUR',
        },
        {
          id: `${w}:bank-c:HUF`,
          debit: 'liq:bank-c:HUF',
          credit: 'stl:bank-c:HUF',
          amount: 499_000n,
          currency: 'HUF',
        },
        {
          id: `${w}:mno-b:EUR`,
          debit: 'liq:mno-b:EUR',
          credit: 'stl:mno-b:EUR',
          amount: 2994n,
          currency: 'EUR',
        },
        {
          id: `${w}:mno-b:HUF`,
          debit: 'stl:mno-b:HUF',
          credit: 'liq:mno-b:HUF',
          amount: 499_000n,
          currency: 'HUF',
        },
      ]);
      expect(settlementSums(rows)).toEqual(
        new Map([
          ['EUR', 0n],
          ['HUF', 0n],
        ]),
      );
    });

    it('sends each processor its nets in a settlement.notice', async () => {
      await waitFor(() => [net.a, net.b, c()].every((p) => p.notices.length === 1));
      const status = async () =>
        (await net.http<WindowReport>('GET', `/v1/admin/settlement/windows/${report.windowId}/report`)).body;
      await waitFor(async () => (await status()).settlement!.every((s) => s.noticeDelivered));
      const base = { windowId: report.windowId, openedAt: report.openedAt, closedAt: report.closedAt };
      expect(net.a.notices).toEqual([{ ...base, positions: [{ currency: 'EUR', net: '-1996' }] }]);
      expect(c().notices).toEqual([
        {
          ...base,
          positions: [
            { currency: 'EUR', net: '-998' },
            { currency: 'HUF', net: '499000' },
          ],
        },
      ]);
      expect(net.b.notices).toEqual([
        {
          ...base,
          positions: [
            { currency: 'EUR', net: '2994' },
            { currency: 'HUF', net: '-499000' },
          ],
        },
      ]);
      const again = { body: await status() };
      expect(again.body.settlement).toEqual(
        ['bank-a', 'bank-c', 'mno-b'].map((processorId) => ({
          processorId,
          booked: true,
          noticeDelivered: true,
          noticeAttempts: 1,
        })),
      );
      const { settlement: _s, ...rest } = report;
      expect(again.body).toMatchObject(rest);
    });

    it('lists windows and a window’s transfers, and serves the report as CSV', async () => {
      const list = await windows();
      expect(list[0]).toMatchObject({ state: 'OPEN', transfers: 0 });
      expect(list[0]!.openedAt).toBe(report.closedAt);
      expect(list[1]).toEqual({
        windowId: report.windowId,
        state: 'CLOSED',
        openedAt: report.openedAt,
        closedAt: report.closedAt,
        transfers: 3,
      });
      const tr = await net.http<{ transfers: WindowTransferView[] }>(
        'GET',
        `/v1/admin/settlement/windows/${report.windowId}/transfers`,
      );
      expect(tr.body.transfers.map((t) => [t.payer, t.payee, t.amount.value, t.fees])).toEqual([
        ['bank-c', 'mno-b', '1000', { msc: '10', interchange: '2' }],
        ['mno-b', 'bank-c', '500000', { msc: '5000', interchange: '1000' }],
        ['bank-a', 'mno-b', '2000', { msc: '20', interchange: '4' }],
      ]);
      for (const t of tr.body.transfers) {
        expect(t.committedAt).toBeGreaterThanOrEqual(report.openedAt);
        expect(t.committedAt).toBeLessThanOrEqual(report.closedAt!);
      }
      // In id order, page by page: the pages together are the whole list, the last has no `next`.
      const ids = tr.body.transfers.map((t) => t.transferId);
      expect(ids).toEqual([...ids].sort());
      const paged: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await net.http<{ transfers: WindowTransferView[]; next?: string }>(
          'GET',
          `/v1/admin/settlement/windows/${report.windowId}/transfers?limit=2${after ? `&after=${after}` : ''}`,
        );
        expect(page.status).toBe(200);
        paged.push(...page.body.transfers.map((t) => t.transferId));
        after = page.body.next;
        if (after === undefined) break;
        expect(page.body.transfers).toHaveLength(2);
      }
      expect(paged).toEqual(ids);
      const bad = await net.http<{ error: { code: string } }>(
        'GET',
        `/v1/admin/settlement/windows/${report.windowId}/transfers?limit=0`,
      );
      expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);

      const res = await fetch(
        `${net.hub.url}/v1/admin/settlement/windows/${report.windowId}/report?format=csv`,
        {
          headers: { authorization: `Bearer ${net.hub.adminToken}` },
        },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const w = report.windowId;
      expect(await res.text()).toBe(
        [
          'windowId,currency,processorId,sent,received,interchangePaid,interchangeReceived,msc,fxMargin,fxFee,transfers,net',
          `${w},EUR,bank-a,2000,0,0,4,0,0,0,1,-1996`,
          `${w},EUR,bank-c,1000,0,0,2,0,0,0,1,-998`,
          `${w},EUR,mno-b,0,3000,6,0,30,6,0,2,2994`,
          `${w},HUF,bank-c,0,500000,1000,0,5000,1963,10000,1,499000`,
          `${w},HUF,mno-b,500000,0,0,1000,0,0,0,1,-499000`,
          '',
        ].join('\n'),
      );
    });

    it('refuses to close an empty window, answers a closed one’s report again, and knows no other window', async () => {
      const before = await windows();
      const empty = await closeWindow();
      expect([empty.status, empty.body.error.code]).toEqual([409, 'WINDOW_EMPTY']);
      const emptyById = await closeWindow({ windowId: before[0]!.windowId });
      expect(emptyById.body.error.code).toBe('WINDOW_EMPTY');
      expect(await windows()).toEqual(before);

      const again = await closeWindow({ windowId: report.windowId });
      expect(again.status).toBe(200);
      expect(again.body.windowId).toBe(report.windowId);
      expect(again.body.positions).toEqual(report.positions);
      expect(await windows()).toEqual(before);

      const unknown = 'win_01JAAAAAAAAAAAAAAAAAAAAAAA';
      for (const r of [
        await closeWindow({ windowId: unknown }),
        await net.http<ErrorBody>('GET', `/v1/admin/settlement/windows/${unknown}/report`),
        await net.http<ErrorBody>('GET', `/v1/admin/settlement/windows/${unknown}/transfers`),
      ]) {
        expect([r.status, r.body.error.code]).toEqual([404, 'WINDOW_NOT_FOUND']);
      }
      const malformed = await closeWindow({ windowId: 'W-2026-1' });
      expect([malformed.status, malformed.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      const extra = await closeWindow({ window: 1 });
      expect(extra.body.error.code).toBe('VALIDATION_FAILED');
      const csv = await net.http<ErrorBody>(
        'GET',
        `/v1/admin/settlement/windows/${report.windowId}/report?format=xml`,
      );
      expect(csv.body.error.code).toBe('VALIDATION_FAILED');
      for (const [method, path] of [
        ['GET', '/v1/admin/settlement/windows'],
        ['POST', '/v1/admin/settlement/windows/close'],
        ['GET', `/v1/admin/settlement/windows/${report.windowId}/report`],
        ['GET', `/v1/admin/settlement/windows/${report.windowId}/transfers`],
      ] as const) {
        expect((await net.http(method, path, undefined, null)).status).toBe(401);
      }
    });

    it('shows an open window’s report so far', async () => {
      const t = await pay(net.a, { payee: 'bank-c', amount: { value: '700', currency: 'HUF' } });
      const [open] = await windows();
      const r = await net.http<WindowReport>('GET', `/v1/admin/settlement/windows/${open!.windowId}/report`);
      expect(r.body).toMatchObject({
        windowId: open!.windowId,
        state: 'OPEN',
        transfers: 1,
        instructions: [{ currency: 'HUF', from: 'bank-a', to: 'bank-c', amount: '700' }],
        fees: [],
      });
      expect(r.body.closedAt).toBeUndefined();
      expect(r.body.settlement).toBeUndefined();
      // Settle it, so that the next test starts from zero positions.
      expect((await closeWindow()).status).toBe(200);
      expect(t.transferId).toMatch(/^pay_/);
    });

    it('retries a notice until the processor books it, also one that does not know the message yet, and across a restart', async () => {
      net.a.noticeMode = 'error';
      net.b.noticeMode = 'not-booked';
      c().noticeMode = 'unknown';
      const calls = [net.a, net.b, c()].map((p) => p.noticeCalls);
      await pay(net.a, { payee: 'mno-b', amount: { value: '300', currency: 'EUR' } });
      await pay(c(), { payee: 'bank-a', amount: { value: '100', currency: 'EUR' } });
      const closed = await closeWindow();
      expect(closed.status).toBe(200);
      const id = closed.body.windowId;
      await waitFor(() => [net.a, net.b, c()].every((p, i) => p.noticeCalls >= calls[i]! + 2));
      const status = async () =>
        (await net.http<WindowReport>('GET', `/v1/admin/settlement/windows/${id}/report`)).body.settlement!;
      const pending = await status();
      expect(pending.map((s) => [s.processorId, s.booked, s.noticeDelivered, s.lastError])).toEqual([
        ['bank-a', true, false, 'UNAVAILABLE'],
        ['bank-c', true, false, 'UNKNOWN_MESSAGE_TYPE'],
        ['mno-b', true, false, 'MESSAGE_MALFORMED'],
      ]);
      // Other work goes on meanwhile.
      await pay(net.a, { payee: 'mno-b', amount: { value: '5', currency: 'EUR' } });

      net.b.noticeMode = 'book';
      await waitFor(() => net.b.notices.some((n) => n.windowId === id));
      await net.restartHub();
      net.a.noticeMode = 'book';
      c().noticeMode = 'book';
      await waitFor(() => [net.a, c()].every((p) => p.notices.some((n) => n.windowId === id)), 8_000);
      expect(net.a.notices.find((n) => n.windowId === id)?.positions).toEqual([
        { currency: 'EUR', net: '-200' },
      ]);
      expect(c().notices.find((n) => n.windowId === id)?.positions).toEqual([
        { currency: 'EUR', net: '-100' },
      ]);
      expect(net.b.notices.find((n) => n.windowId === id)?.positions).toEqual([
        { currency: 'EUR', net: '300' },
      ]);
      await waitFor(async () => (await status()).every((s) => s.noticeDelivered));
    });
  });
});

describeEngines('settlement bookings and schedule', (engine) => {
  beforeAll(async () => {
    net = await startNetwork({
      ...engine.options(),
      forwardTimeoutMs: 200,
      settlementRetryMs: 100,
      settlementIntervalMs: 600,
    });
    await net.deposit('bank-a', '100000');
  });
  afterAll(async () => {
    await net?.close();
  });

  it('closes the window on the schedule when it has transfers, and skips empty windows', async () => {
    const before = await windows();
    const t = await pay(net.a, { amount: { value: '400', currency: 'EUR' } });
    await waitFor(async () => (await windows()).length === before.length + 1, 3_000);
    const list = await windows();
    expect(list[1]).toMatchObject({ windowId: before[0]!.windowId, state: 'CLOSED', transfers: 1 });
    const tr = await net.http<{ transfers: WindowTransferView[] }>(
      'GET',
      `/v1/admin/settlement/windows/${list[1]!.windowId}/transfers`,
    );
    expect(tr.body.transfers.map((x) => x.transferId)).toEqual([t.transferId]);
    // Closed on a 600 ms boundary: one lies between the window's opening and its close (the timer may
    // fire late on a busy machine, never early), and the close is not before the transfer's commit.
    const closedAt = list[1]!.closedAt!;
    expect(Math.floor(closedAt / 600) * 600).toBeGreaterThan(list[1]!.openedAt);
    expect(closedAt).toBeGreaterThanOrEqual(tr.body.transfers[0]!.committedAt);
    // The close is in the hub's audit log, by the schedule.
    const audit = await net.http<{
      entries: Array<{ actor: string; action: string; subject: string | null }>;
    }>('GET', '/v1/admin/audit?limit=1000');
    expect(audit.body.entries).toContainEqual(
      expect.objectContaining({
        actor: 'schedule',
        action: 'settlement.window.close',
        subject: list[1]!.windowId,
      }),
    );
    await waitFor(() => net.a.notices.length === 1 && net.b.notices.length === 1);
    // Settled: bank-a paid 4.00 out of its liquidity, mno-b has it in its own.
    expect(await net.position('bank-a')).toEqual({
      processorId: 'bank-a',
      currency: 'EUR',
      liquidity: '99600',
      position: '0',
      reserved: '0',
      available: '99600',
    });
    expect(await net.position('mno-b')).toEqual({
      processorId: 'mno-b',
      currency: 'EUR',
      liquidity: '400',
      position: '0',
      reserved: '0',
      available: '400',
    });

    // The empty window stays open across a boundary: a transfer made after the next boundary lands in it,
    // and it is the only window closed since (an empty window closed at the boundary would be in the list).
    const empty = list[0]!;
    expect(empty).toMatchObject({ state: 'OPEN', transfers: 0 });
    const boundary = (Math.floor(empty.openedAt / 600) + 1) * 600;
    await waitFor(() => Date.now() > boundary);
    const back = await pay(net.b, { payee: 'bank-a', amount: { value: '400', currency: 'EUR' } });
    await waitFor(async () => (await windows()).length === list.length + 1, 3_000);
    const after = await windows();
    expect(after.slice(2)).toEqual(list.slice(1));
    expect(after[1]).toMatchObject({
      windowId: empty.windowId,
      openedAt: empty.openedAt,
      state: 'CLOSED',
      transfers: 1,
    });
    const held = await net.http<{ transfers: WindowTransferView[] }>(
      'GET',
      `/v1/admin/settlement/windows/${empty.windowId}/transfers`,
    );
    expect(held.body.transfers.map((x) => x.transferId)).toEqual([back.transferId]);
    expect(held.body.transfers[0]!.committedAt).toBeGreaterThan(boundary);
    // mno-b paid the 4.00 back: both liquidities as at the start.
    await waitFor(() => net.a.notices.length === 2 && net.b.notices.length === 2);
    expect(await net.position('bank-a')).toMatchObject({ liquidity: '100000', position: '0' });
    expect(await net.position('mno-b')).toMatchObject({ liquidity: '0', position: '0' });
  });

  it('books a receiver at once even when it has reserved its credit since, and frees no sending capacity', async () => {
    // mno-b is paid 1000, then reserves 800 of it to send while the window closes.
    await net.restartHub({ settlementIntervalMs: undefined });
    await pay(net.a, { amount: { value: '1000', currency: 'EUR' } });
    net.a.mode = 'hang';
    const out = net.transfer({
      payer: 'mno-b',
      payee: 'bank-a',
      amount: { value: '800', currency: 'EUR' },
      expiresAt: Date.now() + 1_500,
    });
    const [r] = await prepare(net.b, [out]);
    expect(r?.state).toBe('RESERVED');
    const a = await net.position('bank-a');
    const b = await net.position('mno-b');
    expect(a).toMatchObject({ liquidity: '100000', position: '1000', reserved: '0', available: '99000' });
    expect(b).toMatchObject({ liquidity: '0', position: '-1000', reserved: '800', available: '200' });

    const closed = await closeWindow();
    expect(closed.status).toBe(200);
    const id = closed.body.windowId;
    expect(closed.body.positions.map((p) => [p.processorId, p.net])).toEqual([
      ['bank-a', '-1000'],
      ['mno-b', '1000'],
    ]);
    // Nothing to wait for: liquidity accounts have no limit, so the net debit cap refuses no booking.
    expect(closed.body.settlement?.map((s) => [s.processorId, s.booked])).toEqual([
      ['bank-a', true],
      ['mno-b', true],
    ]);
    expect(await net.position('bank-a')).toEqual({ ...a, liquidity: '99000', position: '0' });
    expect(await net.position('mno-b')).toEqual({ ...b, liquidity: '1000', position: '0' });
    expect(await bookings(id)).toEqual([
      {
        id: `${id}:bank-a:EUR`,
        debit: 'stl:bank-a:EUR',
        credit: 'liq:bank-a:EUR',
        amount: 1000n,
        currency: 'EUR',
      },
      {
        id: `${id}:mno-b:EUR`,
        debit: 'liq:mno-b:EUR',
        credit: 'stl:mno-b:EUR',
        amount: 1000n,
        currency: 'EUR',
      },
    ]);
    await waitFor(() => [net.a, net.b].every((p) => p.notices.some((n) => n.windowId === id)));

    // The reservation expires. mno-b may withdraw all it holds, and not a cent more; bank-a's capacity
    // comes back only with a deposit.
    await waitFor(async () => (await net.position('mno-b')).reserved === '0', 5_000);
    expect(await net.position('mno-b')).toMatchObject({
      liquidity: '1000',
      position: '0',
      available: '1000',
    });
    const over = await withdraw('mno-b', '1001');
    expect([over.status, over.body.error.code]).toEqual([422, 'NET_DEBIT_CAP_EXCEEDED']);
    expect((await withdraw('mno-b', '1000')).body).toMatchObject({
      liquidity: '0',
      position: '0',
      available: '0',
    });
    expect(await net.position('bank-a')).toMatchObject({ liquidity: '99000', available: '99000' });
    await net.deposit('bank-a', '1000');
    expect(await net.position('bank-a')).toMatchObject({ liquidity: '100000', available: '100000' });
    net.a.mode = 'fulfil';
  });

  it('does not book a window before the ledger holds all its transfers, and books it once it does', async () => {
    const a = await net.position('bank-a');
    const b = await net.position('mno-b');
    // A transfer committed at the hub whose reservation the ledger does not hold (lost, say, with a ledger
    // restored from an older backup): its post cannot follow, and the window's nets are not in the positions.
    await net.hub.close();
    let hubStore = await net.openHubStore();
    const db = await migrateHub(hubStore);
    const transfers = createTransferStore(db, createOutboxStore(db));
    const t = net.transfer({ amount: { value: '600', currency: 'EUR' }, expiresAt: Date.now() + 60_000 });
    await db.transaction().execute((tx) => transfers.insertReserved(tx, [t], Date.now()));
    const receipt = await signReceipt(t, 'mno-b', net.b.signingKey);
    await db
      .transaction()
      .execute((tx) => transfers.commit(tx, [{ transferId: t.transferId, receipt }], Date.now(), Date.now()));
    await hubStore.close();
    await net.restartHub({ settlementIntervalMs: undefined });

    const closed = await closeWindow();
    expect(closed.status).toBe(200);
    const id = closed.body.windowId;
    expect(closed.body.positions.map((p) => [p.processorId, p.net])).toEqual([
      ['bank-a', '-600'],
      ['mno-b', '600'],
    ]);
    expect(closed.body.settlement?.map((s) => [s.processorId, s.booked])).toEqual([
      ['bank-a', false],
      ['mno-b', false],
    ]);
    // Retried (the sweep tried again after the close's own try) and still waiting: nothing booked, no
    // liquidity moved, no notice sent.
    await waitFor(async () => {
      const s = (await reportOf(id)).settlement ?? [];
      return s.length === 2 && s.every((x) => (x.bookingAttempts ?? 0) >= 2);
    });
    expect((await reportOf(id)).settlement?.map((s) => [s.booked, s.noticeDelivered])).toEqual([
      [false, false],
      [false, false],
    ]);
    expect(await bookings(id)).toEqual([]);
    expect(await net.position('bank-a')).toEqual(a);
    expect(await net.position('mno-b')).toEqual(b);
    expect([net.a, net.b].some((p) => p.notices.some((n) => n.windowId === id))).toBe(false);

    // The reservation is back in the ledger: the post follows, then the window is booked and told.
    await net.hub.close();
    hubStore = await net.openHubStore();
    const ledger = await createLedgerFor(hubStore);
    expect((await ledger.execute([reservation(t)]))[0]?.ok).toBe(true);
    await ledger.close();
    await hubStore.close();
    await net.restartHub({ settlementIntervalMs: undefined });
    await waitFor(async () => {
      const s = (await reportOf(id)).settlement ?? [];
      return s.length === 2 && s.every((x) => x.booked && x.noticeDelivered);
    }, 5_000);
    expect(await net.position('bank-a')).toEqual({
      ...a,
      liquidity: (BigInt(a.liquidity) - 600n).toString(),
      available: (BigInt(a.available) - 600n).toString(),
    });
    expect(await net.position('mno-b')).toEqual({
      ...b,
      liquidity: (BigInt(b.liquidity) + 600n).toString(),
      available: (BigInt(b.available) + 600n).toString(),
    });
    expect(net.a.notices.find((n) => n.windowId === id)?.positions).toEqual([
      { currency: 'EUR', net: '-600' },
    ]);
    expect(net.b.notices.find((n) => n.windowId === id)?.positions).toEqual([
      { currency: 'EUR', net: '600' },
    ]);
  });
});
