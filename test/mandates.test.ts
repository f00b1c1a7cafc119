import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MoneyWire } from '@semops/protocol';
import {
  approveMandate,
  getMandate,
  listMandates,
  signMandate,
  submitMandate,
  type MandateTerms,
} from '../packages/cli/src/clients-mandates.js';
import { errorOf } from '../packages/cli/src/clients-account.js';
import { dueAt, nextSlot } from '../packages/processor/src/mandates/service.js';
import { expectConserved, freshNetwork } from './helpers.js';

const eur = (value: bigint): MoneyWire => ({ value: value.toString(), currency: 'EUR' });

describe('mandates (scheduled and recurring payments)', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  beforeAll(async () => {
    env = await freshNetwork();
  });
  afterAll(async () => env?.close());

  async function setup(balance = 50_00n) {
    const c = await env.ctx.customer('bank-a', balance);
    const m = await env.ctx.merchant('mno-b', 'Gym');
    const req = await m.client.createRequest({
      currency: 'EUR',
      minAmount: eur(1_00n),
      maxAmount: eur(20_00n),
      reference: 'membership',
      reusable: true,
    });
    return { c, m, req, r: await c.wallet.resolve(req.shortCode) };
  }
  const terms = (t: Partial<MandateTerms> = {}): MandateTerms => ({
    amount: eur(3_00n),
    maxAmount: eur(3_00n),
    interval: 3600,
    startAt: Date.now() + 3_600_000,
    ...t,
  });

  it('refuses a bad mandate: amount over the maximum, wrong PIN, forged or unsigned, expired', async () => {
    const { c, r } = await setup();
    const over = await errorOf(
      submitMandate(c.wallet, await signMandate(c.wallet, r, '1234', terms({ amount: eur(4_00n) }))),
    );
    expect(over?.code).toBe('MANDATE_EXCEEDS_BOUND');
    const wrongPin = await errorOf(submitMandate(c.wallet, await signMandate(c.wallet, r, '9999', terms())));
    expect(wrongPin?.code).toBe('PIN_INVALID');
    const expired = await errorOf(
      submitMandate(c.wallet, await signMandate(c.wallet, r, '1234', terms(), { expiresAt: Date.now() - 1 })),
    );
    expect(expired?.code).toBe('APPROVAL_EXPIRED');
    // Signed by another customer's device.
    const other = await env.ctx.customer('bank-a', 0n);
    const forged = await errorOf(
      submitMandate(c.wallet, await signMandate(other.wallet, r, '1234', terms())),
    );
    expect(forged?.code).toBe('APPROVAL_INVALID');
    // Payload tampered with after signing.
    const good = await signMandate(c.wallet, r, '1234', terms());
    const [h, p, s] = good.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { amount: MoneyWire };
    payload.amount = eur(1_00n);
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    expect((await errorOf(submitMandate(c.wallet, tampered)))?.code).toBe('APPROVAL_INVALID');
    // Unsigned (alg none).
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'semops-mandate+jws', kid: c.wallet.deviceId })).toString('base64url')}.${p}.`;
    const unsigned = await errorOf(submitMandate(c.wallet, none));
    expect(['APPROVAL_INVALID', 'VALIDATION_FAILED']).toContain(unsigned?.code);
    // An approval type is not a mandate.
    const wrongTyp = await errorOf(
      submitMandate(
        c.wallet,
        await signMandate(c.wallet, r, '1234', terms(), { typ: 'semops-approval+jws' }),
      ),
    );
    expect(wrongTyp?.code).toBe('APPROVAL_INVALID');
    // A good one is accepted once; the same signed mandate again is a replay.
    const ok = await submitMandate(c.wallet, good);
    expect(ok.status).toBe('ACTIVE');
    expect((await errorOf(submitMandate(c.wallet, good)))?.code).toBe('APPROVAL_REPLAYED');
    expect((await listMandates(c.wallet)).map((x) => x.mandateId)).toEqual([ok.mandateId]);
    expect(await c.wallet.balance()).toBe(50_00n);
  });

  it('a failed instalment (insufficient funds) is recorded and retried at the next interval', async () => {
    const { c } = await setup(2_00n);
    const m2 = await env.ctx.merchant('bank-a', 'Local Gym');
    const req = await m2.client.createRequest({
      currency: 'EUR',
      minAmount: eur(1_00n),
      maxAmount: eur(20_00n),
      reference: 'local',
      reusable: true,
    });
    const created = await approveMandate(c.wallet, req.shortCode, '1234', {
      amount: eur(3_00n),
      maxAmount: eur(3_00n),
      interval: 1,
      count: 1,
    });
    const mandate = () => getMandate(c.wallet, created.mandateId);
    await expect
      .poll(async () => (await mandate()).instalments[0]?.error, { timeout: 5000 })
      .toBe('INSUFFICIENT_FUNDS');
    await env.ctx.processor('bank-a').admin.deposit(c.customerId, 5_00n);
    await expect.poll(async () => (await mandate()).status, { timeout: 8000 }).toBe('COMPLETED');
    const m = await mandate();
    expect(m.paid).toBe(1);
    expect(await c.wallet.balance()).toBe(4_00n);
  });

  it('the payer processor restarts mid-schedule: instalments continue, none twice', async () => {
    const { c, m } = await setup(50_00n);
    const r = await c.wallet.resolve(
      (
        await m.client.createRequest({
          currency: 'EUR',
          minAmount: eur(1_00n),
          maxAmount: eur(20_00n),
          reference: 'restart',
          reusable: true,
        })
      ).shortCode,
    );
    const created = await submitMandate(
      c.wallet,
      await signMandate(c.wallet, r, '1234', {
        amount: eur(2_00n),
        maxAmount: eur(5_00n),
        interval: 1,
        count: 5,
        startAt: Date.now(),
      }),
    );
    const mandate = () => getMandate(c.wallet, created.mandateId);
    await expect.poll(async () => (await mandate()).paid, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    const { nextAt } = await mandate();
    expect(nextAt).toBeDefined();
    const payer = env.net.processors.get('bank-a')!;
    await payer.stop();
    // The next instalment falls due while the payer processor is down.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(nextAt!), { timeout: 5_000, interval: 50 });
    await payer.restart();
    await expect.poll(async () => (await mandate()).status, { timeout: 20_000 }).toBe('COMPLETED');
    const view = await mandate();
    expect(view.paid).toBe(5);
    const completed = view.instalments.filter((i) => i.status === 'COMPLETED');
    expect(completed).toHaveLength(5);
    expect(new Set(completed.map((i) => i.paymentId)).size).toBe(5);
    expect(new Set(view.instalments.map((i) => i.dueAt)).size).toBe(view.instalments.length);
    await expectConserved(env.ctx);
    expect(await c.wallet.balance()).toBe(50_00n - 5n * 2_00n);
    // The job runs on after the last instalment: a new one-off mandate of hers is paid by a later pass, and
    // the completed mandate has still paid five times.
    const later = await submitMandate(
      c.wallet,
      await signMandate(c.wallet, r, '1234', {
        amount: eur(1_00n),
        maxAmount: eur(1_00n),
        interval: 1,
        count: 1,
        startAt: Date.now(),
      }),
    );
    await expect
      .poll(async () => (await getMandate(c.wallet, later.mandateId)).status, { timeout: 20_000 })
      .toBe('COMPLETED');
    expect((await getMandate(c.wallet, created.mandateId)).paid).toBe(5);
    await expectConserved(env.ctx);
    expect(await c.wallet.balance()).toBe(50_00n - 5n * 2_00n - 1_00n);
  });
});

describe('mandate schedule', () => {
  it('a late job skips missed slots (no catch-up burst) and monthly follows the calendar', () => {
    const start = Date.UTC(2026, 0, 31, 9);
    // 10 s interval, job 35 s late: the next slot is the one after now, not the 3 missed ones.
    expect(nextSlot('10', start, 0, start + 35_000)).toBe(4);
    expect(nextSlot('10', start, 0, start + 1_000)).toBe(1);
    expect(dueAt('daily', start, 2) - start).toBe(2 * 86_400_000);
    expect(dueAt('weekly', start, 1) - start).toBe(7 * 86_400_000);
    expect(new Date(dueAt('monthly', start, 1)).toISOString()).toBe('2026-02-28T09:00:00.000Z');
    expect(new Date(dueAt('monthly', start, 2)).toISOString()).toBe('2026-03-31T09:00:00.000Z');
    expect(nextSlot('monthly', start, 0, Date.UTC(2026, 4, 1))).toBe(4);
  });
});
