import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '@semops/node';
import { newId, parseRate, quote, type FxQuote } from '@semops/protocol';
import { startKit, type Kit } from '../settlement/testing.js';
import { paymentInCommands, book, purposeOf } from './payee-bookings.js';
import { createAgentService } from '../agents/service.js';
import { createLimitService } from '../limits/service.js';
import { createPinHasher } from '../customers/pins.js';

let k: Kit;
beforeAll(async () => {
  k = await startKit('mno-b');
});
afterAll(async () => {
  await k.close();
});

const eur = (value: string) => ({ value, currency: 'EUR' });

async function merchantRequest(amount = '1000') {
  const m = await k.merchant();
  const merchant = await k.merchants.get(m.id);
  const r = await k.requests.create(merchant, {
    currency: 'EUR',
    amount: BigInt(amount),
    reference: 'order-1',
    expiresInSeconds: 600,
    reusable: false,
  });
  return { m, merchant, r };
}

describe('payee side of a purchase: the MSC and the interchange', () => {
  it('credits the merchant the amount less the MSC, books the MSC and pays the interchange out', async () => {
    const { m, merchant, r } = await merchantRequest('1000');
    const p = k.prepare({
      requestId: r.id,
      amount: eur('1000'),
      purpose: 'purchase',
      fees: { msc: '10', interchange: '2' },
    });
    const f = await k.requests.accept(p);
    expect(f.decision).toBe('FULFIL');
    expect(await k.requests.commit(p.transferId)).toBe(true);

    expect(await k.balance(m.accountId)).toBe(990n);
    expect(await k.balance('fees:EUR')).toBe(10n);
    expect(await k.balance('interchange:EUR')).toBe(-2n);
    // settlement:EUR mirrors the hub position: it received 10.00 and pays 0.02 interchange → −9.98.
    expect(await k.balance('settlement:EUR')).toBe(-998n);
    expect((await k.ledger.getTransfer(`in:${p.transferId}:ic`))?.debitAccountId).toBe('interchange:EUR');

    // The merchant sees gross, fee and net, in its list, in the request and in the webhook.
    const [view] = await k.requests.listIncoming(merchant);
    expect(view).toMatchObject({ amount: eur('1000'), fee: eur('10'), net: eur('990'), status: 'COMPLETED' });
    expect((await k.requests.get(merchant, r.id)).payments[0]).toMatchObject({
      fee: eur('10'),
      net: eur('990'),
    });
    const hook = await k.q.one<{
      body: string;
    }>`SELECT body FROM webhook_deliveries WHERE merchant_id = ${m.id}`;
    expect(JSON.parse(hook!.body)).toMatchObject({
      type: 'payment.completed',
      data: { paymentId: p.transferId, amount: eur('1000'), fee: eur('10'), net: eur('990') },
    });

    // Committing again (a repeated notification) books nothing more.
    expect(await k.requests.commit(p.transferId)).toBe(false);
    expect(await k.balance(m.accountId)).toBe(990n);
  });

  it('books exactly once when the process crashed between the bookings and the state change', async () => {
    const { m, r } = await merchantRequest('2000');
    const p = k.prepare({
      requestId: r.id,
      amount: eur('2000'),
      purpose: 'purchase',
      fees: { msc: '20', interchange: '4' },
    });
    expect((await k.requests.accept(p)).decision).toBe('FULFIL');
    const fees0 = await k.balance('fees:EUR');
    // The bookings went through, then the process died before the row said COMMITTED.
    const i = { id: p.transferId, amount: '2000', currency: 'EUR', refund_of: null };
    await book(
      k.ledger,
      await paymentInCommands(k.house, i, { msc: 20n, interchange: 4n }, m.accountId),
      'x',
    );
    expect(await k.balance(m.accountId)).toBe(1980n);
    // The hub's notification (or the sweep) runs commit: no second booking.
    expect(await k.requests.commit(p.transferId)).toBe(true);
    expect(await k.balance(m.accountId)).toBe(1980n);
    expect((await k.balance('fees:EUR')) - fees0).toBe(20n);
  });

  it('credits the whole amount to a person (P2P) and to a purchase without fees', async () => {
    const c = await k.customer('EUR', 0n);
    const r = await k.requests.createForCustomer(await k.customers.get(c.id), {
      amount: 700n,
      reference: 'dinner',
      expiresInSeconds: 600,
    });
    const p = k.prepare({ requestId: r.id, amount: eur('700') });
    expect((await k.requests.accept(p)).decision).toBe('FULFIL');
    await k.requests.commit(p.transferId);
    expect(await k.balance(c.accountId)).toBe(700n);

    const { m, r: r2 } = await merchantRequest('500');
    const p2 = k.prepare({ requestId: r2.id, amount: eur('500'), purpose: 'purchase' });
    expect((await k.requests.accept(p2)).decision).toBe('FULFIL');
    await k.requests.commit(p2.transferId);
    expect(await k.balance(m.accountId)).toBe(500n);
  });

  it('rejects a purpose that does not match the request, and changes nothing', async () => {
    const { r } = await merchantRequest('1000');
    const p = k.prepare({ requestId: r.id, amount: eur('1000') });
    const f = await k.requests.accept(p);
    expect(f).toMatchObject({ decision: 'REJECT', error: { code: 'TRANSFER_CONFLICT' } });
    expect(f.error?.message).toMatch(/merchant's.*purchase/);
    expect(await k.requests.hasIncoming(p.transferId)).toBe(false);
    const held = await k.q.one<{ in_flight: string | null; status: string }>`SELECT in_flight, status
      FROM requests WHERE id = ${r.id}`;
    expect(held).toEqual({ in_flight: null, status: 'OPEN' });

    const c = await k.customer('EUR', 0n);
    const pr = await k.requests.createForCustomer(await k.customers.get(c.id), {
      amount: 300n,
      reference: 'x',
      expiresInSeconds: 600,
    });
    const p2 = k.prepare({ requestId: pr.id, amount: eur('300'), purpose: 'purchase' });
    const f2 = await k.requests.accept(p2);
    expect(f2).toMatchObject({ decision: 'REJECT', error: { code: 'TRANSFER_CONFLICT' } });
    expect(f2.error?.message).toMatch(/not a purchase/);
    expect(await k.requests.hasIncoming(p2.transferId)).toBe(false);

    // The same request can still be paid properly afterwards.
    const ok = k.prepare({ requestId: r.id, amount: eur('1000'), purpose: 'purchase' });
    expect((await k.requests.accept(ok)).decision).toBe('FULFIL');
  });

  it('refuses fees on a person-to-person payment and fees larger than the amount', async () => {
    const c = await k.customer('EUR', 0n);
    const pr = await k.requests.createForCustomer(await k.customers.get(c.id), {
      amount: 300n,
      reference: 'x',
      expiresInSeconds: 600,
    });
    const f = await k.requests.accept(
      k.prepare({ requestId: pr.id, amount: eur('300'), fees: { msc: '3', interchange: '1' } }),
    );
    expect(f).toMatchObject({ decision: 'REJECT', error: { code: 'VALIDATION_FAILED' } });
    const { r } = await merchantRequest('100');
    const f2 = await k.requests.accept(
      k.prepare({
        requestId: r.id,
        amount: eur('100'),
        purpose: 'purchase',
        fees: { msc: '10', interchange: '11' },
      }),
    );
    expect(f2).toMatchObject({ decision: 'REJECT', error: { code: 'VALIDATION_FAILED' } });
  });

  it('treats a re-sent prepare with other fees as a conflict, and the same one as a replay', async () => {
    const { r } = await merchantRequest('1000');
    const p = k.prepare({
      requestId: r.id,
      amount: eur('1000'),
      purpose: 'purchase',
      fees: { msc: '10', interchange: '2' },
    });
    expect((await k.requests.accept(p)).decision).toBe('FULFIL');
    expect((await k.requests.accept(p)).decision).toBe('FULFIL');
    const other = await k.requests.accept({ ...p, fees: { msc: '12', interchange: '2' } });
    expect(other).toMatchObject({ decision: 'REJECT', error: { code: 'TRANSFER_CONFLICT' } });
    expect(other.error?.message).toMatch(/msc 10.*msc 12/);
    const row = await k.q.one<{ msc: string }>`SELECT msc FROM incoming WHERE id = ${p.transferId}`;
    expect(row?.msc).toBe('10');
  });
});

describe('payee side of a cash-out at an agent till', () => {
  async function agentTill() {
    const now = () => k.clock;
    const agents = createAgentService({
      q: k.q,
      ledger: k.ledger,
      merchants: k.merchants,
      requests: k.requests,
      customers: k.customers,
      limits: createLimitService({ q: k.q, now }),
      notifications: k.notifications,
      pins: createPinHasher('test-pin-key'),
      hub: { send: () => Promise.reject(new Error('no hub')) },
      fundingAccount: k.house.funding,
      now,
      log: silentLog,
    });
    const a = await agents.create({ name: 'Kiosk', city: 'Wien', currency: 'EUR' });
    return { ...a, agents };
  }

  it('expects a p2p transfer for a till (cash-out bears no MSC) and refuses one sent as a purchase', async () => {
    const a = await agentTill();
    const token = await k.requests.tokenFor({ processorId: k.id, requestId: a.tillRequestId });
    const merchant = (
      JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
        merchant: { id: string; category: string };
      }
    ).merchant;
    // What the payer reads from the signed till request: it pays a p2p transfer.
    expect(merchant.category).toBe('6010');
    expect(purposeOf(merchant)).toBe('p2p');

    const fees0 = await k.balance('fees:EUR');
    const asPurchase = k.prepare({
      requestId: a.tillRequestId,
      amount: eur('3000'),
      purpose: 'purchase',
      fees: { msc: '30', interchange: '6' },
    });
    const refused = await k.requests.accept(asPurchase);
    expect(refused).toMatchObject({ decision: 'REJECT', error: { code: 'TRANSFER_CONFLICT' } });
    expect(refused.error?.message).toMatch(/agent's cash-out till/);
    expect(await k.requests.hasIncoming(asPurchase.transferId)).toBe(false);

    const p = k.prepare({ requestId: a.tillRequestId, amount: eur('3000'), purpose: 'p2p' });
    expect((await k.requests.accept(p)).decision).toBe('FULFIL');
    // Re-sent as it was: a replay; re-sent as a purchase: a conflict.
    expect((await k.requests.accept(p)).decision).toBe('FULFIL');
    expect(
      (await k.requests.accept({ ...p, purpose: 'purchase', fees: { msc: '30', interchange: '6' } }))
        .decision,
    ).toBe('REJECT');
    expect(await k.requests.commit(p.transferId)).toBe(true);
    // The agent's float gets all the cash the customer takes; no MSC is booked.
    expect(await k.balance(a.floatAccountId)).toBe(3000n);
    expect(await k.balance('fees:EUR')).toBe(fees0);
    expect(await a.agents.settleCashOuts()).toBe(1);
  });

  it('keeps the till category for agents: a plain merchant cannot take it', async () => {
    await expect(
      k.merchants.create({ name: 'Not an agent', city: 'Wien', category: '6010', currency: 'EUR' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: /kept for agent tills/ });
    expect(purposeOf({ id: 'mer_1', category: '5812' })).toBe('purchase');
    expect(purposeOf({ id: 'p2p', category: '4829' })).toBe('p2p');
  });
});

describe('refund of a payment our customer made in another currency', () => {
  /** bank-c: its HUF customer paid an mno-b merchant 10.00 EUR (docs/settlement.md, payment 1). */
  let bc: Kit;
  let fq: FxQuote;
  beforeAll(async () => {
    bc = await startKit('bank-c');
    fq = quote(
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
  });
  afterAll(async () => {
    await bc.close();
  });

  async function paid() {
    const c = await bc.customer('HUF', 1_000_000n);
    const payId = await bc.convertedPayment(c, 'mno-b', fq);
    expect(await bc.balance(c.accountId)).toBe(1_000_000n - 404_413n);
    return { c, payId };
  }

  async function refund(payId: string, value: string) {
    const p = bc.prepare({
      requestId: newId('req'),
      amount: eur(value),
      refundOf: payId,
      payer: 'mno-b',
      payee: 'bank-c',
    });
    const f = await bc.requests.accept(p);
    expect(f.decision).toBe('FULFIL');
    expect(await bc.requests.commit(p.transferId)).toBe(true);
    return p.transferId;
  }

  it('books a full refund back at the original customer rate, rounded down; the fee stays', async () => {
    const { c, payId } = await paid();
    const fx0 = {
      huf: await bc.balance('fx:HUF'),
      eur: await bc.balance('fx:EUR'),
      m: await bc.balance('fxmargin:HUF'),
    };
    await refund(payId, '1000');
    // 10.00 EUR × 394.41225 = 3944.1225 HUF → 3944.12 HUF back (the customer paid 3944.13 + 100.00 fee).
    expect(await bc.balance(c.accountId)).toBe(1_000_000n - 404_413n + 394_412n);
    // The FX position is reversed exactly in both currencies; the margin keeps 1 minor unit of rounding.
    expect((await bc.balance('fx:HUF')) - fx0.huf).toBe(-392_450n);
    expect((await bc.balance('fx:EUR')) - fx0.eur).toBe(1000n);
    expect((await bc.balance('fxmargin:HUF')) - fx0.m).toBe(-1962n);
    const n = (await bc.notifications.list(c.id)).find((x) => x.kind === 'refund.received');
    expect(n).toMatchObject({ amount: { value: '394412', currency: 'HUF' } });
    expect(n?.text).toMatch(
      /^Refund of 3[ ,.]?944\.12 HUF from Café Central \(10\.00 EUR at the rate you paid, 1 EUR = 394\.412250 HUF\)\.$/,
    );
  });

  it('adds partial refunds up to exactly the full refund, never above what was charged minus the fee', async () => {
    const { c, payId } = await paid();
    const before = await bc.balance(c.accountId);
    const parts = ['333', '333', '1', '333'];
    let credited = 0n;
    for (const v of parts) {
      const tid = await refund(payId, v);
      const after = await bc.balance(c.accountId);
      const got = after - before - credited;
      credited += got;
      const row = await bc.q.one<{ refund_fx: string }>`SELECT refund_fx FROM incoming WHERE id = ${tid}`;
      expect(JSON.parse(row!.refund_fx)).toMatchObject({
        customerCredit: got.toString(),
        payerCurrency: 'HUF',
      });
    }
    expect(credited).toBe(394_412n);
    expect(credited).toBeLessThanOrEqual(fq.total.value - fq.fee.value);
    // A fourth refund beyond the payment is refused by the payee of the refund (us).
    const over = await bc.requests.accept(
      bc.prepare({
        requestId: newId('req'),
        amount: eur('1'),
        refundOf: payId,
        payer: 'mno-b',
        payee: 'bank-c',
      }),
    );
    expect(over).toMatchObject({ decision: 'REJECT', error: { code: 'REFUND_EXCEEDS_PAYMENT' } });
  });

  it('books a refund whose commit is repeated after a crash exactly once', async () => {
    const { c, payId } = await paid();
    const p = bc.prepare({
      requestId: newId('req'),
      amount: eur('500'),
      refundOf: payId,
      payer: 'mno-b',
      payee: 'bank-c',
    });
    expect((await bc.requests.accept(p)).decision).toBe('FULFIL');
    await bc.requests.commit(p.transferId);
    const b1 = await bc.balance(c.accountId);
    await bc.q.run`UPDATE incoming SET state = 'ACCEPTED' WHERE id = ${p.transferId}`;
    await bc.requests.commit(p.transferId);
    expect(await bc.balance(c.accountId)).toBe(b1);
  });

  it('refuses a refund sent as a purchase', async () => {
    const { payId } = await paid();
    const f = await bc.requests.accept(
      bc.prepare({
        requestId: newId('req'),
        amount: eur('500'),
        refundOf: payId,
        payer: 'mno-b',
        payee: 'bank-c',
        purpose: 'purchase',
      }),
    );
    expect(f).toMatchObject({ decision: 'REJECT', error: { code: 'TRANSFER_CONFLICT' } });
  });
});
