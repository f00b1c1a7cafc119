/**
 * Scenarios for mandates (scheduled and recurring payments), through the public HTTP APIs only.
 */
import { check, eur, waitUntil, type Ctx, type Scenario } from '../testkit/index.js';
import { approveMandate, cancelMandate, getMandate } from '../clients-mandates.js';

/** A subscription-like reusable request of an mno-b merchant (payer-entered amount 1.00–20.00). */
async function subscription(ctx: Ctx) {
  const m = await ctx.merchant('mno-b', 'Streaming Club');
  const req = await m.client.createRequest({
    currency: 'EUR',
    minAmount: eur(1_00n),
    maxAmount: eur(20_00n),
    reference: 'subscription',
    reusable: true,
  });
  return { m, req };
}

/**
 * Evidence that bank-a's mandate job has run on for at least two due slots from now: another customer's
 * two-instalment mandate (one second apart) is paid in full. The job takes every due mandate in each pass,
 * so a mandate that should pay nothing more has had those passes to (wrongly) pay again.
 */
async function twoLaterPasses(ctx: Ctx): Promise<void> {
  const witness = await ctx.customer('bank-a', 10_00n, 'Witness');
  const { req } = await subscription(ctx);
  const w = await approveMandate(witness.wallet, req.shortCode, '1234', {
    amount: eur(1_00n),
    maxAmount: eur(1_00n),
    interval: 1,
    count: 2,
  });
  const done = await waitUntil(
    () => getMandate(witness.wallet, w.mandateId),
    (x) => x.status === 'COMPLETED',
  );
  check(done.status === 'COMPLETED', `the witness mandate is ${done.status} (paid ${done.paid})`);
}

export const MANDATE_SCENARIOS: Scenario[] = [
  {
    name: 'recurring payment: mandate pays each instalment on time, never beyond the bound',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 50_00n);
      const { m, req } = await subscription(ctx);
      const created = await approveMandate(c.wallet, req.shortCode, '1234', {
        amount: eur(5_00n),
        maxAmount: eur(6_00n),
        interval: 1,
        count: 3,
      });
      check(created.status === 'ACTIVE', `mandate ${created.status}`);
      const done = await waitUntil(
        () => getMandate(c.wallet, created.mandateId),
        (x) => x.status === 'COMPLETED',
      );
      check(done.status === 'COMPLETED', `mandate ${done.status} after 15 s (paid ${done.paid})`);
      await twoLaterPasses(ctx);
      const after = await getMandate(c.wallet, created.mandateId);
      const completed = after.instalments.filter((i) => i.status === 'COMPLETED');
      check(completed.length === 3, `${completed.length} instalments completed, not 3`);
      const gaps = completed.slice(1).map((i, k) => i.dueAt - completed[k]!.dueAt);
      check(
        gaps.every((g) => g >= 1000),
        `instalments closer than the interval: ${gaps.join(', ')} ms`,
      );
      await ctx.settled();
      const bal = await c.wallet.balance();
      check(bal === 35_00n, `customer balance ${bal}, not 35.00`);
      const got = await ctx.merchantBalance(m);
      check(got === 15_00n, `merchant received ${got}, not 15.00`);
      const problem = await ctx.conservation();
      check(problem === undefined, problem ?? '');
      return `3 × 5.00 EUR bank-a → mno-b, ${gaps.join(' / ')} ms apart; then COMPLETED, nothing more`;
    },
  },
  {
    name: 'recurring payment: cancelled mandate pays nothing more',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 50_00n);
      const { m, req } = await subscription(ctx);
      const created = await approveMandate(c.wallet, req.shortCode, '1234', {
        amount: eur(2_00n),
        maxAmount: eur(2_00n),
        interval: 1,
      });
      const first = await waitUntil(
        () => getMandate(c.wallet, created.mandateId),
        (x) => x.paid >= 1,
      );
      check(first.paid >= 1, 'no first instalment');
      const cancelled = await cancelMandate(c.wallet, created.mandateId);
      check(cancelled.status === 'CANCELLED', `mandate ${cancelled.status}`);
      // An instalment already on its way when she cancelled may still complete; none may start after.
      await twoLaterPasses(ctx);
      await ctx.settled();
      const later = await getMandate(c.wallet, created.mandateId);
      check(
        later.instalments.length === cancelled.instalments.length,
        `${later.instalments.length - cancelled.instalments.length} instalment(s) started after cancel`,
      );
      const paid = later.paid;
      check(
        paid === later.instalments.filter((i) => i.status === 'COMPLETED').length,
        `paid ${paid} ≠ completed instalments`,
      );
      const bal = await c.wallet.balance();
      check(bal === 50_00n - BigInt(paid) * 2_00n, `customer balance ${bal} for ${paid} instalments`);
      const got = await ctx.merchantBalance(m);
      check(got === BigInt(paid) * 2_00n, `merchant received ${got}`);
      return `${paid} instalment(s) of 2.00 EUR, then cancelled: nothing more while the job paid another mandate twice`;
    },
  },
];
