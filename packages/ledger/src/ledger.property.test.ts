// Property tests: random sequences of valid and invalid commands, run in random batch shapes, must
// keep every invariant of the ledger.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { LEDGER_STORES, describeStore, type TestLedger } from './test-helpers.js';
import type { AccountRule, Ledger, LedgerCommand, LedgerResult, Transfer } from './types.js';

const ACCOUNTS: ReadonlyArray<{ id: string; currency: string; rule: AccountRule }> = [
  { id: 'acc_k0', currency: 'KES', rule: 'none' },
  { id: 'acc_k1', currency: 'KES', rule: 'debits_must_not_exceed_credits' },
  { id: 'acc_k2', currency: 'KES', rule: 'debits_must_not_exceed_credits' },
  { id: 'acc_k3', currency: 'KES', rule: 'credits_must_not_exceed_debits' },
  { id: 'acc_u0', currency: 'UGX', rule: 'none' },
  { id: 'acc_u1', currency: 'UGX', rule: 'debits_must_not_exceed_credits' },
];
const ACCOUNT_IDS = ACCOUNTS.map((a) => a.id);

const accountIndex = fc.nat({ max: ACCOUNTS.length - 1 });
/** Few ids, so that ids collide (replays and conflicts) and posts find their reservations. */
const transferId = fc.nat({ max: 40 }).map((n) => `tr_${n}`);

const createAccount = fc
  .record({ i: accountIndex, otherRule: fc.boolean() })
  .map(({ i, otherRule }): LedgerCommand => {
    const a = ACCOUNTS[i] ?? ACCOUNTS[0]!;
    return {
      kind: 'createAccount',
      id: a.id,
      currency: a.currency,
      rule: otherRule ? 'none' : a.rule,
      code: 'c',
    };
  });

/** Mostly transfers that can succeed (same currency, positive amount), some that cannot. */
const transfer = fc
  .record({
    id: transferId,
    from: accountIndex,
    to: accountIndex,
    amount: fc.oneof(
      { arbitrary: fc.bigInt({ min: 1n, max: 120n }), weight: 9 },
      fc.bigInt({ min: -2n, max: 0n }),
    ),
    wrongCurrency: fc.boolean(),
    anyPair: fc.nat({ max: 5 }).map((n) => n === 0),
    pending: fc.boolean(),
    timeoutMs: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
  })
  .map(({ id, from, to, amount, wrongCurrency, anyPair, pending, timeoutMs }): LedgerCommand => {
    const debit = ACCOUNTS[from] ?? ACCOUNTS[0]!;
    // Unless anyPair, the credit account is another one of the same currency.
    const sameCurrency = ACCOUNTS.filter((a) => a.currency === debit.currency && a !== debit);
    const credit = anyPair ? (ACCOUNTS[to] ?? debit) : (sameCurrency[to % sameCurrency.length] ?? debit);
    return {
      kind: 'transfer',
      id,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amount,
      currency: wrongCurrency && anyPair ? (debit.currency === 'KES' ? 'UGX' : 'KES') : debit.currency,
      pending,
      ...(pending && timeoutMs !== undefined ? { timeoutMs } : {}),
    };
  });

const resolve = fc
  .record({
    id: transferId,
    pendingId: transferId,
    post: fc.boolean(),
    amount: fc.option(fc.bigInt({ min: 1n, max: 120n })),
  })
  .map(({ id, pendingId, post, amount }): LedgerCommand =>
    post
      ? { kind: 'post', id, pendingId, ...(amount === null ? {} : { amount }) }
      : { kind: 'void', id, pendingId },
  );

const command = fc.oneof(
  { arbitrary: createAccount, weight: 1 },
  { arbitrary: transfer, weight: 6 },
  { arbitrary: resolve, weight: 4 },
);

type Step =
  | {
      readonly t: 'execute';
      readonly how: 'batch' | 'atomic' | 'concurrent';
      readonly commands: LedgerCommand[];
    }
  | { readonly t: 'repeat'; readonly pick: number }
  /** A post or void of one of the reservations made so far (random ones mostly miss). */
  | { readonly t: 'end'; readonly pick: number; readonly end: LedgerCommand }
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'expire' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant('execute' as const),
      how: fc.constantFrom('batch' as const, 'atomic' as const, 'concurrent' as const),
      commands: fc.array(command, { minLength: 1, maxLength: 5 }),
    }),
    weight: 8,
  },
  { arbitrary: fc.record({ t: fc.constant('repeat' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('end' as const), pick: fc.nat(), end: resolve }), weight: 4 },
  {
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 30 }) }),
    weight: 1,
  },
  { arbitrary: fc.constant({ t: 'expire' as const }), weight: 1 },
);

async function state(ledger: Ledger): Promise<{ accounts: unknown; transfers: Transfer[] }> {
  const lists = await Promise.all(ACCOUNT_IDS.map((id) => ledger.listTransfers(id, { limit: 1000 })));
  const byId = new Map(lists.flat().map((t) => [t.id, t]));
  return { accounts: await ledger.getAccounts(ACCOUNT_IDS), transfers: [...byId.values()] };
}

/** Every invariant that must hold between any two steps. */
async function checkInvariants(ledger: Ledger, pendingIds: ReadonlySet<string>): Promise<void> {
  const accounts = await ledger.getAccounts(ACCOUNT_IDS);
  const { transfers } = await state(ledger);
  for (const a of accounts) {
    if (a.rule === 'debits_must_not_exceed_credits')
      expect(a.debitsPending + a.debitsPosted).toBeLessThanOrEqual(a.creditsPosted);
    if (a.rule === 'credits_must_not_exceed_debits')
      expect(a.creditsPending + a.creditsPosted).toBeLessThanOrEqual(a.debitsPosted);
    // Each running sum is the sum of the records behind it.
    const sums = { debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n };
    for (const t of transfers) {
      const side = t.debitAccountId === a.id ? 'debits' : t.creditAccountId === a.id ? 'credits' : undefined;
      if (side === undefined) continue;
      const isPending = t.pendingId === undefined && pendingIds.has(t.id);
      if (isPending && t.state === 'pending') sums[`${side}Pending`] += t.amount;
      if (!isPending && t.state === 'posted') sums[`${side}Posted`] += t.amount;
    }
    expect(sums).toEqual({
      debitsPending: a.debitsPending,
      debitsPosted: a.debitsPosted,
      creditsPending: a.creditsPending,
      creditsPosted: a.creditsPosted,
    });
  }
  for (const total of await ledger.totals()) {
    expect(total.debitsPosted).toBe(total.creditsPosted);
    expect(total.debitsPending).toBe(total.creditsPending);
  }
  // A reservation ends at most once, and its end matches the record that ended it.
  for (const id of pendingIds) {
    const p = transfers.find((t) => t.id === id);
    const enders = transfers.filter((t) => t.pendingId === id);
    expect(enders.length).toBeLessThanOrEqual(1);
    if (p?.state === 'posted' || p?.state === 'voided') expect(enders.map((e) => e.state)).toEqual([p.state]);
    else expect(enders).toEqual([]);
    if (p?.state === 'posted') expect(enders[0]?.amount).toBeLessThanOrEqual(p.amount);
  }
}

/** Opens some of the accounts and funds the limited ones among them. */
async function setUp(ledger: Ledger, opened: readonly number[]): Promise<void> {
  const results = await ledger.execute(
    opened.flatMap((i): LedgerCommand[] => {
      const a = ACCOUNTS[i] ?? ACCOUNTS[0]!;
      const bank = a.currency === 'KES' ? 'acc_k0' : 'acc_u0';
      const fund: LedgerCommand = {
        kind: 'transfer',
        id: `tr_fund_${a.id}`,
        debitAccountId: bank,
        creditAccountId: a.id,
        amount: 300n,
        currency: a.currency,
      };
      if (a.rule === 'credits_must_not_exceed_debits')
        Object.assign(fund, { debitAccountId: a.id, creditAccountId: bank });
      return [
        { kind: 'createAccount', id: a.id, currency: a.currency, rule: a.rule, code: 'c' },
        ...(a.rule === 'none' ? [] : [fund]),
      ];
    }),
  );
  expect(results.every((r) => r.ok || r.code === 'ACCOUNT_NOT_FOUND')).toBe(true);
}

async function runSteps(t: TestLedger, steps: readonly Step[]): Promise<void> {
  const { ledger } = t;
  const applied: LedgerCommand[] = [];
  const pendingIds = new Set<string>();
  const record = (commands: readonly LedgerCommand[], results: readonly LedgerResult[]) => {
    commands.forEach((c, i) => {
      const r = results[i];
      expect(r).toBeDefined();
      if (r?.ok !== true) return;
      applied.push(c);
      if (c.kind === 'transfer' && c.pending === true) pendingIds.add(c.id);
    });
  };
  for (const s of steps) {
    switch (s.t) {
      case 'execute': {
        let results: LedgerResult[];
        if (s.how === 'batch') results = await ledger.execute(s.commands);
        else if (s.how === 'atomic') results = await ledger.executeAtomic(s.commands);
        else results = (await Promise.all(s.commands.map((c) => ledger.execute([c])))).flat();
        expect(results).toHaveLength(s.commands.length);
        if (s.how === 'atomic' && results.some((r) => !r.ok)) {
          expect(results.every((r) => !r.ok)).toBe(true);
          expect(results.some((r) => !r.ok && r.code !== 'LINKED_FAILED')).toBe(true);
        }
        record(s.commands, results);
        break;
      }
      case 'repeat': {
        if (applied.length === 0) break;
        const c = applied[s.pick % applied.length]!;
        const before = await state(ledger);
        const [r] = await ledger.execute([c]);
        expect(r).toMatchObject({ ok: true, replayed: true });
        expect(await state(ledger)).toEqual(before);
        break;
      }
      case 'end': {
        if (pendingIds.size === 0) break;
        const pendingId = [...pendingIds][s.pick % pendingIds.size]!;
        const c = { ...s.end, pendingId } as LedgerCommand;
        record([c], await ledger.execute([c]));
        break;
      }
      case 'advance':
        t.clock.now += s.ms;
        break;
      case 'expire': {
        const expired = await ledger.expirePending();
        for (const e of expired) {
          expect(e.state).toBe('expired');
          expect(e.timeoutAt).toBeLessThanOrEqual(t.clock.now);
          expect(pendingIds.has(e.id)).toBe(true);
        }
        break;
      }
    }
    await checkInvariants(ledger, pendingIds);
  }
}

for (const store of LEDGER_STORES) {
  describeStore(store, `Ledger properties (${store.name})`, () => {
    it('keeps every invariant under random command sequences', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { arbitrary: fc.constant([0, 4, 1, 2, 3, 5]), weight: 3 },
            fc.subarray([0, 4, 1, 2, 3, 5]),
          ),
          fc.array(step, { minLength: 1, maxLength: 40, size: 'medium' }),
          async (opened, steps) => {
            const t = await store.open({ noSync: true });
            try {
              await setUp(t.ledger, opened);
              await runSteps(t, steps);
            } finally {
              await t.dispose();
            }
          },
        ),
        { numRuns: 150 },
      );
    }, 180_000);
  });
}
