import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createServer } from '@semops/node';
import { newId, parseRate, quote, type SettlementNotice } from '@semops/protocol';
import { startKit, type Kit } from './testing.js';
import { registerSettlementRoutes } from './routes.js';
import { createReconciler, type HubTransfer, type ReconcileResult } from './reconcile.js';
import { createSettlementService } from './service.js';

const ADMIN = 'admin-token-for-tests';
let k: Kit;
let app: FastifyInstance;
let s: ReturnType<typeof settlementOf>;

/** The settlement service of a kit's processor, with the operator's routes on `on`. */
function settlementOf(kit: Kit, processorId: string, on: FastifyInstance) {
  const settlement = createSettlementService({
    q: kit.q,
    ledger: kit.ledger,
    house: kit.house,
    processorId,
    now: () => kit.clock,
  });
  const reconciler = createReconciler({ q: kit.q, ledger: kit.ledger, processorId, settlement });
  registerSettlementRoutes(on, { settlement, reconciler, adminToken: ADMIN });
  return { settlement, reconciler };
}

beforeAll(async () => {
  k = await startKit('mno-b');
  app = createServer();
  s = settlementOf(k, 'mno-b', app);
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await k.close();
});

const eur = (value: string) => ({ value, currency: 'EUR' });
async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown, token: string | null = ADMIN) {
  const res = await app.inject({
    method,
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  return { status: res.statusCode, body: JSON.parse(res.body) as T };
}

describe('settlement.notice', () => {
  it('books each position against the settlement account once, and lists the window', async () => {
    const n: SettlementNotice = {
      windowId: newId('win'),
      openedAt: k.clock - 3_600_000,
      closedAt: k.clock,
      positions: [
        { currency: 'EUR', net: '-1996' },
        { currency: 'HUF', net: '499000' },
        { currency: 'GBP', net: '0' },
      ],
    };
    const before = { eur: await k.balance('settlement:EUR'), huf: await k.balance('settlement:HUF') };
    expect(await s.settlement.book(n)).toEqual({ booked: true });
    expect(await s.settlement.book(n)).toEqual({ booked: true });
    // Pays 19.96 EUR (settlement → nostro), receives 4990.00 HUF (nostro → settlement): once each.
    expect((await k.balance('settlement:EUR')) - before.eur).toBe(-1996n);
    expect(await k.balance('nostro:EUR')).toBe(1996n);
    expect((await k.balance('settlement:HUF')) - before.huf).toBe(499_000n);
    expect(await k.ledger.getTransfer(`stl:${n.windowId}:GBP`)).toBeUndefined();
    expect(await k.ledger.getTransfer(`stl:${n.windowId}:EUR`)).toMatchObject({
      debitAccountId: 'settlement:EUR',
      creditAccountId: 'nostro:EUR',
      amount: 1996n,
      state: 'posted',
    });

    const listed = await call<{ windows: unknown[] }>('GET', '/v1/admin/settlement');
    expect(listed.status).toBe(200);
    expect(listed.body.windows).toContainEqual({
      windowId: n.windowId,
      openedAt: n.openedAt,
      closedAt: n.closedAt,
      positions: [
        { currency: 'EUR', net: '-1996' },
        { currency: 'GBP', net: '0' },
        { currency: 'HUF', net: '499000' },
      ],
      bookedAt: k.clock,
    });
    expect((await call('GET', '/v1/admin/settlement', undefined, null)).status).toBe(401);
    expect((await call('GET', '/v1/admin/settlement', undefined, 'wrong')).status).toBe(401);
  });

  it('refuses a second notice for a booked window with other positions, booking nothing', async () => {
    const n: SettlementNotice = {
      windowId: newId('win'),
      openedAt: k.clock - 1000,
      closedAt: k.clock,
      positions: [{ currency: 'EUR', net: '700' }],
    };
    await s.settlement.book(n);
    const eur0 = await k.balance('settlement:EUR');
    await expect(
      s.settlement.book({ ...n, positions: [{ currency: 'EUR', net: '800' }] }),
    ).rejects.toMatchObject({
      code: 'TRANSFER_CONFLICT',
    });
    expect(await k.balance('settlement:EUR')).toBe(eur0);
    await expect(
      s.settlement.book({
        ...n,
        windowId: newId('win'),
        positions: [
          { currency: 'EUR', net: '1' },
          { currency: 'EUR', net: '2' },
        ],
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('POST /v1/admin/reconcile', () => {
  let window: { windowId: string; openedAt: number; closedAt: number };
  let t1: HubTransfer;
  let t2: HubTransfer;
  const other: HubTransfer = {
    transferId: newId('pay'),
    payer: 'bank-a',
    payee: 'bank-c',
    amount: eur('4200'),
  };

  beforeAll(async () => {
    // A fresh window: everything below commits at k.clock, inside it.
    k.clock += 10_000_000;
    window = { windowId: newId('win'), openedAt: k.clock - 1000, closedAt: k.clock + 1000 };
    const eur0 = await k.balance('settlement:EUR');

    // Payee side: a bank-c customer buys for 10.00 EUR at our merchant; MSC 0.10, interchange 0.02.
    const m = await k.merchant();
    const r = await k.requests.create(await k.merchants.get(m.id), {
      currency: 'EUR',
      amount: 1000n,
      reference: 'order-7',
      expiresInSeconds: 600,
      reusable: false,
    });
    const p = k.prepare({
      requestId: r.id,
      amount: eur('1000'),
      purpose: 'purchase',
      fees: { msc: '10', interchange: '2' },
    });
    expect((await k.requests.accept(p)).decision).toBe('FULFIL');
    await k.requests.commit(p.transferId);
    t1 = {
      transferId: p.transferId,
      payer: 'bank-c',
      payee: 'mno-b',
      amount: eur('1000'),
      fees: { msc: '10', interchange: '2' },
    };

    // Payer side: our customer paid 5.00 EUR to a bank-c merchant; we received 0.01 interchange.
    const c = await k.customer('EUR', 10_000n);
    const id = newId('pay');
    await k.q
      .run`INSERT INTO payments (id, customer_id, device_id, nonce, request_id, payee, merchant, reference,
        amount, currency, state, expires_at, created_at, updated_at)
      VALUES (${id}, ${c.id}, 'dev', ${`n_${id}`}, ${newId('req')}, 'bank-c', '{"name":"Shop"}', 'x', '500', 'EUR',
        'COMMITTED', ${k.clock + 30_000}, ${k.clock}, ${k.clock})`;
    const settlement = await k.house.settlement('EUR');
    await k.ledger.transfer({
      id,
      debitAccountId: c.accountId,
      creditAccountId: settlement,
      amount: 500n,
      currency: 'EUR',
      pending: true,
    });
    await k.ledger.post({ id: `${id}:post`, pendingId: id });
    await k.ledger.transfer({
      id: `${id}:ic`,
      debitAccountId: settlement,
      creditAccountId: await k.house.interchange('EUR'),
      amount: 1n,
      currency: 'EUR',
    });
    t2 = {
      transferId: id,
      payer: 'mno-b',
      payee: 'bank-c',
      amount: eur('500'),
      fees: { msc: '5', interchange: '1' },
    };

    // The hub closes the window: mno-b receives 10.00 − 0.02 − 5.00 + 0.01 = 4.99 EUR.
    expect((await k.balance('settlement:EUR')) - eur0).toBe(-499n);
    await s.settlement.book({ ...window, positions: [{ currency: 'EUR', net: '499' }] });
    expect(await k.balance('settlement:EUR')).toBe(eur0);
  });

  const reconcile = async (body: unknown) => {
    const res = await call<ReconcileResult>('POST', '/v1/admin/reconcile', body);
    expect(res.status).toBe(200);
    return res.body;
  };
  const kinds = (r: ReconcileResult) =>
    r.differences.map((d) => `${d.kind}${d.transferId ? ` ${d.transferId}` : ''}`).sort();

  it('reports zero differences when the books agree', async () => {
    const r = await reconcile({
      window,
      transfers: [t1, t2, other],
      positions: [{ currency: 'EUR', net: '499' }],
    });
    expect(r).toEqual({ processorId: 'mno-b', windowId: window.windowId, checked: 2, differences: [] });
  });

  it('finds a transfer the hub does not list', async () => {
    const r = await reconcile({ window, transfers: [t1, other] });
    expect(kinds(r)).toEqual([`missing_at_hub ${t2.transferId}`]);
    expect(r.differences[0]?.message).toMatch(
      /Payment pay_\w+ \(5\.00 EUR to bank-c\) committed here .* not in the hub's window/,
    );
  });

  it('finds a transfer the hub has and this processor has not', async () => {
    const ghost: HubTransfer = {
      transferId: newId('pay'),
      payer: 'bank-a',
      payee: 'mno-b',
      amount: eur('300'),
    };
    const r = await reconcile({ window, transfers: [t1, t2, ghost] });
    expect(kinds(r)).toEqual([`missing_here ${ghost.transferId}`]);
  });

  it('finds other amounts and other fees', async () => {
    const r = await reconcile({
      window,
      transfers: [
        { ...t1, fees: { msc: '12', interchange: '2' } },
        { ...t2, amount: eur('501') },
      ],
    });
    expect(kinds(r)).toEqual([`amount_mismatch ${t2.transferId}`, `fees_mismatch ${t1.transferId}`]);
    const fees = r.differences.find((d) => d.kind === 'fees_mismatch');
    expect(fees).toMatchObject({ expected: 'msc 12, interchange 2', actual: 'msc 10, interchange 2' });
  });

  it('finds positions that differ from the hub transfers and from the booked settlement', async () => {
    const r = await reconcile({ window, transfers: [t1, t2], positions: [{ currency: 'EUR', net: '500' }] });
    expect(kinds(r)).toEqual(['position_mismatch', 'settlement_mismatch']);
    expect(r.differences.find((d) => d.kind === 'settlement_mismatch')).toMatchObject({
      currency: 'EUR',
      expected: '500',
      actual: '499',
    });
    const unbooked = await reconcile({
      window: { ...window, windowId: newId('win') },
      transfers: [t1, t2],
      positions: [{ currency: 'EUR', net: '499' }],
    });
    expect(kinds(unbooked)).toEqual(['settlement_not_booked']);
  });

  it('finds a committed transfer whose bookings are missing from the ledger', async () => {
    const id = newId('pay');
    await k.q
      .run`INSERT INTO incoming (id, request_id, merchant_id, customer_id, payer, amount, currency, state,
        receipt, expires_at, created_at, updated_at, msc, interchange, committed_at)
      VALUES (${id}, NULL, NULL, NULL, 'bank-a', '800', 'EUR', 'COMMITTED', 'r', ${k.clock}, ${k.clock}, ${k.clock},
        '0', '0', ${k.clock})`;
    const r = await reconcile({
      window,
      transfers: [t1, t2, { transferId: id, payer: 'bank-a', payee: 'mno-b', amount: eur('800') }],
    });
    expect(kinds(r)).toEqual([`ledger_missing ${id}`]);
    expect(r.differences[0]?.message).toMatch(`in:${id}`);
    await k.q.run`DELETE FROM incoming WHERE id = ${id}`;
  });

  it('requires the admin token', async () => {
    const res = await call('POST', '/v1/admin/reconcile', { window, transfers: [] }, null);
    expect(res.status).toBe(401);
  });
});

describe('reconcile a converted payment and its refund (bank-c, HUF customers)', () => {
  it('checks the conversion legs on both sides and reports zero differences', async () => {
    const bc = await startKit('bank-c');
    try {
      const bapp = createServer();
      const bs = settlementOf(bc, 'bank-c', bapp);
      await bapp.ready();
      const fq = quote(
        {
          amount: { value: 1000n, currency: 'EUR' },
          payerCurrency: 'HUF',
          rate: { base: 'EUR', quote: 'HUF', rate: parseRate('392.45') },
          spreadBps: 50,
          feeFixed: { value: 10000n, currency: 'HUF' },
          validForMs: 30_000,
        },
        bc.clock,
      );
      const c = await bc.customer('HUF', 1_000_000n);
      const payId = await bc.convertedPayment(c, 'mno-b', fq);
      const refund = bc.prepare({
        requestId: newId('req'),
        amount: eur('400'),
        refundOf: payId,
        payer: 'mno-b',
        payee: 'bank-c',
      });
      expect((await bc.requests.accept(refund)).decision).toBe('FULFIL');
      await bc.requests.commit(refund.transferId);
      const window = { windowId: newId('win'), openedAt: bc.clock - 10, closedAt: bc.clock + 10 };
      const transfers: HubTransfer[] = [
        { transferId: payId, payer: 'bank-c', payee: 'mno-b', amount: eur('1000') },
        { transferId: refund.transferId, payer: 'mno-b', payee: 'bank-c', amount: eur('400') },
      ];
      const body = { window, transfers };
      const res = await bapp.inject({
        method: 'POST',
        url: '/v1/admin/reconcile',
        headers: { authorization: `Bearer ${ADMIN}` },
        payload: body,
      });
      expect(JSON.parse(res.body)).toMatchObject({ processorId: 'bank-c', checked: 2, differences: [] });

      // A refund the hub reports with another amount is a difference.
      const r2 = await bs.reconciler.reconcile({
        window,
        transfers: [transfers[0]!, { ...transfers[1]!, amount: eur('450') }],
      });
      expect(r2.differences.map((d) => d.kind)).toEqual(['amount_mismatch']);
      await bapp.close();
    } finally {
      await bc.close();
    }
  });
});
