// Conformance suite, continued: atomic batches, group commit, durability and lifecycle.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEDGER_STORES, describeStore, snapshot, type FakeClock, type TestLedger } from './test-helpers.js';
import type { Ledger, LedgerCommand, LedgerResult } from './types.js';

const codeOf = (r: LedgerResult | undefined) => (r?.ok === true ? 'OK' : r?.code);

const tr = (id: string, from: string, to: string, amount: bigint, pending = false): LedgerCommand => ({
  kind: 'transfer',
  id,
  debitAccountId: from,
  creditAccountId: to,
  amount,
  currency: 'KES',
  pending,
});

const CUSTOMERS = ['acc_c0', 'acc_c1', 'acc_c2', 'acc_c3', 'acc_c4'];

/** A bank and five customers with 100 each. */
async function setUp(ledger: Ledger): Promise<void> {
  const results = await ledger.execute([
    { kind: 'createAccount', id: 'acc_bank', currency: 'KES', rule: 'none', code: 'funding' },
    ...CUSTOMERS.flatMap((id): LedgerCommand[] => [
      {
        kind: 'createAccount',
        id,
        currency: 'KES',
        rule: 'debits_must_not_exceed_credits',
        code: 'customer',
      },
      tr(`tr_fund_${id}`, 'acc_bank', id, 100n),
    ]),
  ]);
  expect(results.every((r) => r.ok)).toBe(true);
}

/** 200 commands that depend on order: some overdraw, some post or void earlier reservations. */
function workload(): LedgerCommand[] {
  const cmds: LedgerCommand[] = [];
  for (let i = 0; i < 200; i++) {
    const from = CUSTOMERS[i % 5] ?? 'acc_c0';
    const to = CUSTOMERS[(i * 3 + 1) % 5] ?? 'acc_c1';
    if (i % 4 === 3)
      cmds.push({ kind: i % 8 === 3 ? 'post' : 'void', id: `tr_r${i}`, pendingId: `tr_${i - 2}` });
    else cmds.push(tr(`tr_${i}`, from, to, BigInt((i * 37) % 60) + 1n, i % 4 === 1));
  }
  return cmds;
}

for (const store of LEDGER_STORES) {
  describeStore(store, `Ledger batches (${store.name})`, () => {
    let t: TestLedger;
    beforeEach(async () => {
      t = await store.open();
      await setUp(t.ledger);
    });
    afterEach(async () => {
      await t.dispose();
    });

    describe('executeAtomic', () => {
      it('applies every command, each seeing the earlier ones', async () => {
        const results = await t.ledger.executeAtomic([
          {
            kind: 'createAccount',
            id: 'acc_new',
            currency: 'KES',
            rule: 'debits_must_not_exceed_credits',
            code: 'c',
          },
          tr('tr_a', 'acc_c0', 'acc_new', 100n, true),
          { kind: 'post', id: 'tr_a_post', pendingId: 'tr_a' },
          tr('tr_b', 'acc_new', 'acc_c1', 100n),
        ]);
        expect(results.map(codeOf)).toEqual(['OK', 'OK', 'OK', 'OK']);
        expect((await t.ledger.getAccount('acc_c1'))?.creditsPosted).toBe(200n);
      });

      it('applies nothing when one command fails', async () => {
        const ids = ['acc_bank', 'acc_new', ...CUSTOMERS];
        const before = await snapshot(t.ledger, ids);
        const results = await t.ledger.executeAtomic([
          { kind: 'createAccount', id: 'acc_new', currency: 'KES', rule: 'none', code: 'c' },
          tr('tr_a', 'acc_c0', 'acc_new', 60n, true),
          { kind: 'post', id: 'tr_a_post', pendingId: 'tr_a' },
          tr('tr_b', 'acc_c0', 'acc_c1', 41n),
          tr('tr_c', 'acc_c2', 'acc_c3', 5n),
        ]);
        expect(results.map(codeOf)).toEqual([
          'LINKED_FAILED',
          'LINKED_FAILED',
          'LINKED_FAILED',
          'EXCEEDS_CREDITS',
          'LINKED_FAILED',
        ]);
        expect(await snapshot(t.ledger, ids)).toEqual(before);
        expect(await t.ledger.getTransfer('tr_a')).toBeUndefined();
        // The same batch, corrected, goes through: nothing of the failed attempt was kept.
        const retry = await t.ledger.executeAtomic([
          { kind: 'createAccount', id: 'acc_new', currency: 'KES', rule: 'none', code: 'c' },
          tr('tr_a', 'acc_c0', 'acc_new', 60n, true),
          { kind: 'post', id: 'tr_a_post', pendingId: 'tr_a' },
          tr('tr_b', 'acc_c0', 'acc_c1', 40n),
        ]);
        expect(retry.map(codeOf)).toEqual(['OK', 'OK', 'OK', 'OK']);
      });

      it('is isolated from the commands group-committed with it', async () => {
        const [atomic, plain] = await Promise.all([
          t.ledger.executeAtomic([tr('tr_a', 'acc_c0', 'acc_c1', 10n), tr('tr_b', 'acc_c2', 'acc_c3', 999n)]),
          t.ledger.execute([
            tr('tr_c', 'acc_c0', 'acc_c1', 90n),
            tr('tr_d', 'acc_c0', 'acc_c1', 10n),
            tr('tr_e', 'acc_c0', 'acc_c1', 1n),
          ]),
        ]);
        expect(atomic.map(codeOf)).toEqual(['LINKED_FAILED', 'EXCEEDS_CREDITS']);
        // The rolled-back 10 of the atomic batch, applied first in the same transaction, left no trace.
        expect(plain.map(codeOf)).toEqual(['OK', 'OK', 'EXCEEDS_CREDITS']);
        expect((await t.ledger.getAccount('acc_c0'))?.debitsPosted).toBe(100n);
      });
    });

    describe('group commit', () => {
      it('gives 200 concurrent calls the results and balances of sequential ones', async () => {
        const cmds = workload();
        const concurrent = await Promise.all(cmds.map((c) => t.ledger.execute([c])));
        const seq = await store.open();
        try {
          await setUp(seq.ledger);
          const sequential: LedgerResult[][] = [];
          for (const c of cmds) sequential.push(await seq.ledger.execute([c]));
          expect(concurrent.flat().map(codeOf)).toEqual(sequential.flat().map(codeOf));
          expect(concurrent.flat().map(codeOf)).toContain('EXCEEDS_CREDITS');
          const ids = ['acc_bank', ...CUSTOMERS];
          const strip = (accounts: Awaited<ReturnType<Ledger['getAccounts']>>) =>
            accounts.map(({ createdAt: _c, ...rest }) => rest);
          expect(strip(await t.ledger.getAccounts(ids))).toEqual(strip(await seq.ledger.getAccounts(ids)));
          expect(await t.ledger.totals()).toEqual(await seq.ledger.totals());
        } finally {
          await seq.dispose();
        }
      });

      it.each([1000, 7])('commits concurrent calls together, in batches of at most %i', async (maxBatch) => {
        // The store reads the clock once per batch: counting reads counts batches (transactions).
        let reads = 0;
        const clock: FakeClock = {
          now: Date.UTC(2025, 0, 1),
          fn: () => {
            reads += 1;
            return clock.now;
          },
        };
        const u = await store.open({ maxBatch, clock });
        try {
          await setUp(u.ledger);
          reads = 0;
          const results = await Promise.all(workload().map((c) => u.ledger.execute([c])));
          expect(results.flat()).toHaveLength(200);
          expect(reads).toBe(Math.ceil(200 / maxBatch));
        } finally {
          await u.dispose();
        }
      });
    });

    describe('durability and lifecycle', () => {
      it('keeps everything across close and reopen', async () => {
        await t.ledger.execute([
          tr('tr_p', 'acc_c0', 'acc_c1', 30n, true),
          tr('tr_s', 'acc_c2', 'acc_c3', 20n),
        ]);
        const ids = ['acc_bank', ...CUSTOMERS];
        const before = await snapshot(t.ledger, ids);
        t = await t.reopen();
        expect(await snapshot(t.ledger, ids)).toEqual(before);
        // Idempotency and pending reservations survive too.
        expect((await t.ledger.execute([tr('tr_s', 'acc_c2', 'acc_c3', 20n)]))[0]).toMatchObject({
          replayed: true,
        });
        expect(await t.ledger.post({ id: 'tr_p_post', pendingId: 'tr_p' })).toMatchObject({ amount: 30n });
      });

      it('finishes queued commands on close, then refuses new ones', async () => {
        const pending = t.ledger.execute([tr('tr_q', 'acc_c0', 'acc_c1', 5n)]);
        await t.ledger.close();
        expect((await pending)[0]?.ok).toBe(true);
        await expect(t.ledger.execute([tr('tr_r', 'acc_c0', 'acc_c1', 5n)])).rejects.toThrow(/closed/);
      });

      it('keeps debits equal to credits in every currency', async () => {
        await t.ledger.execute([
          { kind: 'createAccount', id: 'acc_ug', currency: 'UGX', rule: 'none', code: 'x' },
          { kind: 'createAccount', id: 'acc_ug2', currency: 'UGX', rule: 'none', code: 'x' },
          {
            kind: 'transfer',
            id: 'tr_ug',
            debitAccountId: 'acc_ug',
            creditAccountId: 'acc_ug2',
            amount: 7n,
            currency: 'UGX',
            pending: true,
          },
        ]);
        expect(await t.ledger.totals()).toEqual([
          { currency: 'KES', debitsPosted: 500n, creditsPosted: 500n, debitsPending: 0n, creditsPending: 0n },
          { currency: 'UGX', debitsPosted: 0n, creditsPosted: 0n, debitsPending: 7n, creditsPending: 7n },
        ]);
      });
    });
  });
}
