// Conformance suite of the Ledger interface: runs once per store in LEDGER_STORES.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerError, type LedgerErrorCode } from './errors.js';
import { LEDGER_STORES, describeStore, snapshot, type TestLedger } from './test-helpers.js';
import type { AccountRule, Ledger, LedgerCommand, LedgerResult, Transfer, TransferInput } from './types.js';

// Said once per run, here in the main suite; each skipped suite also carries the reason in its title.
for (const store of LEDGER_STORES) {
  if (store.skip !== undefined) console.warn(`[ledger tests] ${store.name} suites skipped: ${store.skip}`);
}

const codeOf = (r: LedgerResult | undefined): LedgerErrorCode | 'OK' =>
  r?.ok === true ? 'OK' : (r?.code ?? 'OK');

for (const store of LEDGER_STORES) {
  describeStore(store, `Ledger (${store.name})`, () => {
    let t: TestLedger;
    let ledger: Ledger;
    beforeEach(async () => {
      t = await store.open();
      ledger = t.ledger;
    });
    afterEach(async () => {
      await t.dispose();
    });

    const open = (id: string, rule: AccountRule = 'none', currency = 'KES') =>
      ledger.createAccount({ id, currency, rule, code: rule === 'none' ? 'settlement' : 'customer' });
    const tr = (id: string, from: string, to: string, amount: bigint, more: Partial<TransferInput> = {}) =>
      ({
        kind: 'transfer',
        id,
        debitAccountId: from,
        creditAccountId: to,
        amount,
        currency: 'KES',
        ...more,
      }) as const;
    const run = async (...cmds: LedgerCommand[]) => ledger.execute(cmds);
    const one = async (cmd: LedgerCommand) => (await ledger.execute([cmd]))[0];
    const balances = async (id: string) => {
      const a = await ledger.getAccount(id);
      return a && [a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted];
    };

    /** acc_bank (no limit) funds acc_alice with 1000; acc_shop receives. */
    const fund = async () => {
      await open('acc_bank');
      await open('acc_alice', 'debits_must_not_exceed_credits');
      await open('acc_shop', 'debits_must_not_exceed_credits');
      await ledger.transfer({
        id: 'tr_fund',
        debitAccountId: 'acc_bank',
        creditAccountId: 'acc_alice',
        amount: 1000n,
        currency: 'KES',
      });
    };

    describe('accounts', () => {
      it('creates an account with zero sums, idempotently', async () => {
        const a = await open('acc_a', 'debits_must_not_exceed_credits');
        expect(a).toEqual({
          id: 'acc_a',
          currency: 'KES',
          rule: 'debits_must_not_exceed_credits',
          code: 'customer',
          debitsPending: 0n,
          debitsPosted: 0n,
          creditsPending: 0n,
          creditsPosted: 0n,
          createdAt: t.clock.now,
        });
        const again = await one({
          kind: 'createAccount',
          id: 'acc_a',
          currency: 'KES',
          rule: 'debits_must_not_exceed_credits',
          code: 'customer',
        });
        expect(again).toEqual({ ok: true, account: a, replayed: true });
        expect(await ledger.getAccount('acc_a')).toEqual(a);
      });

      it('refuses the same id with another currency, rule or code', async () => {
        await open('acc_a', 'none', 'KES');
        for (const change of [
          { currency: 'UGX' },
          { rule: 'debits_must_not_exceed_credits' },
          { code: 'merchant' },
        ] as const) {
          const r = await one({
            kind: 'createAccount',
            id: 'acc_a',
            currency: 'KES',
            rule: 'none',
            code: 'settlement',
            ...change,
          });
          expect(codeOf(r)).toBe('ACCOUNT_EXISTS_DIFFERENT');
        }
        await expect(
          ledger.createAccount({ id: 'acc_a', currency: 'EUR', rule: 'none', code: 'x' }),
        ).rejects.toMatchObject({
          name: 'LedgerError',
          code: 'ACCOUNT_EXISTS_DIFFERENT',
        });
      });

      it('gets accounts in the order asked, leaving out unknown ids', async () => {
        await open('acc_a');
        await open('acc_b');
        const got = await ledger.getAccounts(['acc_b', 'acc_missing', 'acc_a']);
        expect(got.map((a) => a.id)).toEqual(['acc_b', 'acc_a']);
        expect(await ledger.getAccount('acc_missing')).toBeUndefined();
      });
    });

    describe('single-phase transfers', () => {
      it('posts at once, moving money from the debit to the credit account', async () => {
        await fund();
        const r = await one(
          tr('tr_1', 'acc_alice', 'acc_shop', 300n, { code: 'payment', reference: 'order 7' }),
        );
        expect(r).toEqual({
          ok: true,
          replayed: false,
          transfer: {
            id: 'tr_1',
            debitAccountId: 'acc_alice',
            creditAccountId: 'acc_shop',
            amount: 300n,
            currency: 'KES',
            state: 'posted',
            code: 'payment',
            reference: 'order 7',
            createdAt: t.clock.now,
          },
        });
        expect(await balances('acc_alice')).toEqual([0n, 300n, 0n, 1000n]);
        expect(await balances('acc_shop')).toEqual([0n, 0n, 0n, 300n]);
        expect(await ledger.getTransfer('tr_1')).toEqual(r?.ok === true ? r.transfer : undefined);
      });

      it('allows spending the exact balance and refuses one unit more', async () => {
        await fund();
        expect(codeOf(await one(tr('tr_2', 'acc_alice', 'acc_shop', 1001n)))).toBe('EXCEEDS_CREDITS');
        expect(codeOf(await one(tr('tr_3', 'acc_alice', 'acc_shop', 1000n)))).toBe('OK');
        expect(codeOf(await one(tr('tr_4', 'acc_alice', 'acc_shop', 1n)))).toBe('EXCEEDS_CREDITS');
      });

      it('counts pending debits against debits_must_not_exceed_credits', async () => {
        await fund();
        expect(codeOf(await one(tr('tr_hold', 'acc_alice', 'acc_shop', 600n, { pending: true })))).toBe('OK');
        expect(codeOf(await one(tr('tr_x', 'acc_alice', 'acc_shop', 401n)))).toBe('EXCEEDS_CREDITS');
        expect(codeOf(await one(tr('tr_y', 'acc_alice', 'acc_shop', 400n)))).toBe('OK');
      });

      it('counts pending credits against credits_must_not_exceed_debits', async () => {
        await open('acc_src', 'credits_must_not_exceed_debits');
        await open('acc_sink');
        await ledger.transfer(tr('tr_out', 'acc_src', 'acc_sink', 500n));
        expect(codeOf(await one(tr('tr_in1', 'acc_sink', 'acc_src', 300n, { pending: true })))).toBe('OK');
        expect(codeOf(await one(tr('tr_in2', 'acc_sink', 'acc_src', 201n)))).toBe('EXCEEDS_DEBITS');
        expect(codeOf(await one(tr('tr_in3', 'acc_sink', 'acc_src', 200n)))).toBe('OK');
      });

      it('lists transfers of an account newest first, both directions, with paging', async () => {
        await fund();
        t.clock.now += 10;
        await ledger.transfer(tr('tr_a', 'acc_alice', 'acc_shop', 5n));
        t.clock.now += 10;
        await ledger.transfer(tr('tr_b', 'acc_shop', 'acc_alice', 1n));
        t.clock.now += 10;
        await ledger.transfer(tr('tr_c', 'acc_alice', 'acc_shop', 1n, { pending: true }));
        t.clock.now += 10;
        await ledger.transfer(tr('tr_d', 'acc_shop', 'acc_alice', 1n, { pending: true }));
        t.clock.now += 10;
        await ledger.void({ id: 'tr_c_void', pendingId: 'tr_c' });
        const all = await ledger.listTransfers('acc_alice');
        // A post or void record comes right above the pending transfer it ended.
        expect(all.map((x) => x.id)).toEqual(['tr_d', 'tr_c_void', 'tr_c', 'tr_b', 'tr_a', 'tr_fund']);
        expect(await ledger.listTransfers('acc_shop')).toEqual(all.slice(0, 5));
        const page = await ledger.listTransfers('acc_alice', { limit: 3 });
        expect(page.map((x) => x.id)).toEqual(['tr_d', 'tr_c_void', 'tr_c', 'tr_b']);
        const next = await ledger.listTransfers('acc_alice', { limit: 3, before: page[3]?.createdAt });
        expect(next.map((x) => x.id)).toEqual(['tr_a', 'tr_fund']);
        await expect(ledger.listTransfers('acc_alice', { limit: 0 })).rejects.toBeInstanceOf(LedgerError);
      });

      it('pages through a long history with before', async () => {
        await fund();
        // 200 entries (a third sharing their millisecond with the one before), every 20th a reservation
        // posted at once: its post record must come right before it.
        const created: string[] = ['tr_fund'];
        for (let i = 0; i < 200; i++) {
          if (i % 3 !== 0) t.clock.now += 1;
          const [from, to] = i % 2 === 0 ? ['acc_alice', 'acc_shop'] : ['acc_shop', 'acc_alice'];
          await ledger.transfer(tr(`tr_h${i}`, from, to, 1n, { pending: i % 20 === 0 }));
          if (i % 20 === 0) await ledger.post({ id: `tr_h${i}_post`, pendingId: `tr_h${i}` });
          created.push(`tr_h${i}`);
        }
        const full = await ledger.listTransfers('acc_alice', { limit: 1000 });
        expect(full.filter((x) => x.pendingId === undefined).map((x) => x.id)).toEqual(created.reverse());
        // Entries with their post or void record, newest first.
        const units: Transfer[][] = [];
        for (let i = 0; i < full.length; i++) {
          const x = full[i]!;
          units.push(x.pendingId === undefined ? [x] : [x, full[++i]!]);
        }
        const times = [...new Set(full.map((x) => x.createdAt))];
        for (const before of times.filter((_, i) => i % 9 === 0)) {
          for (const limit of [1, 5, 70]) {
            const expected = units.filter((u) => u.at(-1)!.createdAt < before).slice(0, limit);
            expect(await ledger.listTransfers('acc_alice', { limit, before })).toEqual(expected.flat());
          }
        }
      });
    });

    describe('two-phase transfers', () => {
      beforeEach(fund);

      it('reserves, then posts the full amount', async () => {
        const hold = await ledger.transfer(
          tr('tr_p', 'acc_alice', 'acc_shop', 400n, { pending: true, timeoutMs: 60_000 }),
        );
        expect(hold).toMatchObject({ state: 'pending', timeoutAt: t.clock.now + 60_000 });
        expect(await balances('acc_alice')).toEqual([400n, 0n, 0n, 1000n]);
        expect(await balances('acc_shop')).toEqual([0n, 0n, 400n, 0n]);
        const post = await ledger.post({ id: 'tr_p_post', pendingId: 'tr_p' });
        expect(post).toMatchObject({ id: 'tr_p_post', pendingId: 'tr_p', amount: 400n, state: 'posted' });
        expect(await balances('acc_alice')).toEqual([0n, 400n, 0n, 1000n]);
        expect(await balances('acc_shop')).toEqual([0n, 0n, 0n, 400n]);
        expect((await ledger.getTransfer('tr_p'))?.state).toBe('posted');
      });

      it('posts part of a reservation and releases the rest', async () => {
        await ledger.transfer(tr('tr_p', 'acc_alice', 'acc_shop', 400n, { pending: true, code: 'auth' }));
        const post = await ledger.post({ id: 'tr_p_post', pendingId: 'tr_p', amount: 150n });
        expect(post).toMatchObject({ amount: 150n, code: 'auth' });
        expect(await balances('acc_alice')).toEqual([0n, 150n, 0n, 1000n]);
        expect(await balances('acc_shop')).toEqual([0n, 0n, 0n, 150n]);
        const tooMuch = await one(tr('tr_q', 'acc_alice', 'acc_shop', 100n, { pending: true }));
        expect(codeOf(tooMuch)).toBe('OK');
        expect(codeOf(await one({ kind: 'post', id: 'tr_q_post', pendingId: 'tr_q', amount: 101n }))).toBe(
          'POST_AMOUNT_EXCEEDS_PENDING',
        );
      });

      it('voids a reservation', async () => {
        await ledger.transfer(tr('tr_p', 'acc_alice', 'acc_shop', 400n, { pending: true }));
        const v = await ledger.void({ id: 'tr_p_void', pendingId: 'tr_p' });
        expect(v).toMatchObject({ state: 'voided', amount: 400n, pendingId: 'tr_p' });
        expect(await balances('acc_alice')).toEqual([0n, 0n, 0n, 1000n]);
        expect(await balances('acc_shop')).toEqual([0n, 0n, 0n, 0n]);
        expect((await ledger.getTransfer('tr_p'))?.state).toBe('voided');
      });

      it('ends a reservation exactly once', async () => {
        await run(
          tr('tr_p1', 'acc_alice', 'acc_shop', 10n, { pending: true }),
          tr('tr_p2', 'acc_alice', 'acc_shop', 10n, { pending: true }),
          tr('tr_single', 'acc_alice', 'acc_shop', 10n),
        );
        await ledger.void({ id: 'tr_v1', pendingId: 'tr_p1' });
        await ledger.post({ id: 'tr_s2', pendingId: 'tr_p2' });
        const before = await snapshot(ledger, ['acc_alice', 'acc_shop']);
        const results = await run(
          { kind: 'post', id: 'tr_s1', pendingId: 'tr_p1' },
          { kind: 'void', id: 'tr_v1b', pendingId: 'tr_p1' },
          { kind: 'void', id: 'tr_v2', pendingId: 'tr_p2' },
          { kind: 'post', id: 'tr_s2b', pendingId: 'tr_p2' },
          { kind: 'post', id: 'tr_s3', pendingId: 'tr_single' },
          { kind: 'void', id: 'tr_v3', pendingId: 'tr_nothing' },
        );
        expect(results.map(codeOf)).toEqual([
          'PENDING_ALREADY_VOIDED',
          'PENDING_ALREADY_VOIDED',
          'PENDING_ALREADY_POSTED',
          'PENDING_ALREADY_POSTED',
          'PENDING_NOT_FOUND',
          'PENDING_NOT_FOUND',
        ]);
        expect(await snapshot(ledger, ['acc_alice', 'acc_shop'])).toEqual(before);
      });

      it('expires timed-out reservations; a post or void after the timeout fails', async () => {
        await run(
          tr('tr_short', 'acc_alice', 'acc_shop', 100n, { pending: true, timeoutMs: 1000 }),
          tr('tr_long', 'acc_alice', 'acc_shop', 200n, { pending: true, timeoutMs: 5000 }),
        );
        t.clock.now += 1000;
        expect(codeOf(await one({ kind: 'post', id: 'tr_late', pendingId: 'tr_short' }))).toBe(
          'PENDING_EXPIRED',
        );
        expect(codeOf(await one({ kind: 'void', id: 'tr_late_v', pendingId: 'tr_short' }))).toBe(
          'PENDING_EXPIRED',
        );
        const expired = await ledger.expirePending();
        expect(expired.map((x) => [x.id, x.state])).toEqual([['tr_short', 'expired']]);
        expect(await balances('acc_alice')).toEqual([200n, 0n, 0n, 1000n]);
        expect(await ledger.expirePending()).toEqual([]);
        expect(codeOf(await one({ kind: 'post', id: 'tr_late', pendingId: 'tr_short' }))).toBe(
          'PENDING_EXPIRED',
        );
        expect((await ledger.expirePending(t.clock.now + 4000)).map((x) => x.id)).toEqual(['tr_long']);
        expect(await balances('acc_alice')).toEqual([0n, 0n, 0n, 1000n]);
        expect(await balances('acc_shop')).toEqual([0n, 0n, 0n, 0n]);
      });
    });

    describe('idempotency', () => {
      beforeEach(fund);

      it('returns the first result for a repeat and changes nothing', async () => {
        const cmd = tr('tr_1', 'acc_alice', 'acc_shop', 700n);
        const first = await one(cmd);
        const before = await snapshot(ledger, ['acc_alice', 'acc_shop']);
        t.clock.now += 5000;
        // Alice could not pay 700 again: the repeat must not be re-evaluated.
        const again = await run(cmd, cmd);
        expect(again).toEqual([
          { ...first, replayed: true },
          { ...first, replayed: true },
        ]);
        expect(await snapshot(ledger, ['acc_alice', 'acc_shop'])).toEqual(before);
      });

      it('replays posts and voids after their reservation has ended', async () => {
        await ledger.transfer(tr('tr_p', 'acc_alice', 'acc_shop', 100n, { pending: true }));
        const post = await one({ kind: 'post', id: 'tr_post', pendingId: 'tr_p' });
        const before = await snapshot(ledger, ['acc_alice', 'acc_shop']);
        expect(await one({ kind: 'post', id: 'tr_post', pendingId: 'tr_p' })).toEqual({
          ...post,
          replayed: true,
        });
        // Omitting the amount means the full amount: the same content.
        expect(codeOf(await one({ kind: 'post', id: 'tr_post', pendingId: 'tr_p', amount: 100n }))).toBe(
          'OK',
        );
        expect(await snapshot(ledger, ['acc_alice', 'acc_shop'])).toEqual(before);
      });

      it('refuses a known id with different content', async () => {
        await ledger.transfer(tr('tr_1', 'acc_alice', 'acc_shop', 10n));
        await ledger.transfer(tr('tr_p', 'acc_alice', 'acc_shop', 10n, { pending: true }));
        await ledger.post({ id: 'tr_post', pendingId: 'tr_p', amount: 5n });
        const before = await snapshot(ledger, ['acc_alice', 'acc_shop']);
        const results = await run(
          tr('tr_1', 'acc_alice', 'acc_shop', 11n),
          tr('tr_1', 'acc_alice', 'acc_shop', 10n, { reference: 'x' }),
          tr('tr_1', 'acc_alice', 'acc_shop', 10n, { pending: true }),
          tr('tr_p', 'acc_alice', 'acc_shop', 10n, { pending: true, timeoutMs: 5 }),
          { kind: 'post', id: 'tr_post', pendingId: 'tr_p' },
          { kind: 'void', id: 'tr_post', pendingId: 'tr_p' },
          { kind: 'post', id: 'tr_1', pendingId: 'tr_p' },
        );
        expect(results.map(codeOf)).toEqual(Array(7).fill('ID_EXISTS_DIFFERENT'));
        expect(await snapshot(ledger, ['acc_alice', 'acc_shop'])).toEqual(before);
      });

      it('does not store failed commands: a retry is evaluated again', async () => {
        expect(codeOf(await one(tr('tr_big', 'acc_alice', 'acc_shop', 5000n)))).toBe('EXCEEDS_CREDITS');
        await ledger.transfer(tr('tr_more', 'acc_bank', 'acc_alice', 4000n));
        expect(codeOf(await one(tr('tr_big', 'acc_alice', 'acc_shop', 5000n)))).toBe('OK');
      });
    });

    describe("inside the caller's transaction (executeWithin)", () => {
      beforeEach(fund);
      const hold = (id: string, amount: bigint) =>
        tr(id, 'acc_alice', 'acc_shop', amount, { pending: true, timeoutMs: 60_000 });

      it('commits its legs with the caller, and a later batch sees them', async () => {
        const results = await t.inTransaction((w) =>
          ledger.executeWithin(
            w,
            [hold('tr_w', 300n), { kind: 'post', id: 'tr_w_post', pendingId: 'tr_w' }],
            {
              atomic: true,
            },
          ),
        );
        expect(results.map(codeOf)).toEqual(['OK', 'OK']);
        expect(await balances('acc_alice')).toEqual([0n, 300n, 0n, 1000n]);
        // The funds left are what the batched path checks next: 700, not 1000.
        expect(codeOf(await one(tr('tr_big', 'acc_alice', 'acc_shop', 701n)))).toBe('EXCEEDS_CREDITS');
        expect(codeOf(await one(tr('tr_ok', 'acc_alice', 'acc_shop', 700n)))).toBe('OK');
      });

      it('leaves nothing when the caller rolls back, and the batched path does not remember it', async () => {
        // Read once through the batched path, so that a store that caches has the account in its cache.
        expect(codeOf(await one(tr('tr_warm', 'acc_alice', 'acc_shop', 1n)))).toBe('OK');
        const results = await t.inTransaction(
          (w) => ledger.executeWithin(w, [hold('tr_gone', 900n)]),
          'rollback',
        );
        expect(results.map(codeOf)).toEqual(['OK']);
        expect(await ledger.getTransfer('tr_gone')).toBeUndefined();
        expect(await balances('acc_alice')).toEqual([0n, 1n, 0n, 1000n]);
        // 999 is free again: a cached reservation of 900 would refuse this.
        expect(codeOf(await one(tr('tr_all', 'acc_alice', 'acc_shop', 999n)))).toBe('OK');
      });

      it('applies nothing of an atomic group with a failing command, and the caller goes on', async () => {
        const results = await t.inTransaction(async (w) => {
          const r = await ledger.executeWithin(w, [hold('tr_a', 100n), hold('tr_b', 5000n)], {
            atomic: true,
          });
          // The caller's transaction is still usable after the refused group.
          const again = await ledger.executeWithin(w, [hold('tr_c', 100n)]);
          return [...r, ...again];
        });
        expect(results.map(codeOf)).toEqual(['LINKED_FAILED', 'EXCEEDS_CREDITS', 'OK']);
        expect(await ledger.getTransfer('tr_a')).toBeUndefined();
        expect(await balances('acc_alice')).toEqual([100n, 0n, 0n, 1000n]);
      });

      it('is idempotent by id like execute', async () => {
        await t.inTransaction((w) => ledger.executeWithin(w, [hold('tr_i', 50n)]));
        const [again] = await t.inTransaction((w) => ledger.executeWithin(w, [hold('tr_i', 50n)]));
        expect(codeOf(again)).toBe('OK');
        expect(await balances('acc_alice')).toEqual([50n, 0n, 0n, 1000n]);
        const [other] = await t.inTransaction((w) => ledger.executeWithin(w, [hold('tr_i', 60n)]));
        expect(codeOf(other)).toBe('ID_EXISTS_DIFFERENT');
      });

      it('refuses to run outside a transaction', async () => {
        await expect(ledger.executeWithin({}, [hold('tr_out', 1n)])).rejects.toThrow(/transaction/);
        expect(await ledger.getTransfer('tr_out')).toBeUndefined();
      });
    });

    describe('invalid input', () => {
      beforeEach(fund);

      const cases: Array<[string, unknown, LedgerErrorCode]> = [
        ['negative amount', { ...tr('tr_x', 'acc_alice', 'acc_shop', -5n) }, 'AMOUNT_NOT_POSITIVE'],
        ['zero amount', { ...tr('tr_x', 'acc_alice', 'acc_shop', 0n) }, 'AMOUNT_NOT_POSITIVE'],
        ['number amount', { ...tr('tr_x', 'acc_alice', 'acc_shop', 1n), amount: 5 }, 'INVALID_COMMAND'],
        ['amount beyond 64 bits', { ...tr('tr_x', 'acc_alice', 'acc_shop', 2n ** 63n) }, 'INVALID_COMMAND'],
        ['unknown debit account', { ...tr('tr_x', 'acc_nobody', 'acc_shop', 5n) }, 'ACCOUNT_NOT_FOUND'],
        ['unknown credit account', { ...tr('tr_x', 'acc_alice', 'acc_nobody', 5n) }, 'ACCOUNT_NOT_FOUND'],
        [
          'currency mismatch',
          { ...tr('tr_x', 'acc_alice', 'acc_shop', 5n), currency: 'UGX' },
          'CURRENCY_MISMATCH',
        ],
        ['same account', { ...tr('tr_x', 'acc_alice', 'acc_alice', 5n) }, 'SAME_ACCOUNT'],
        [
          'lowercase currency',
          { ...tr('tr_x', 'acc_alice', 'acc_shop', 5n), currency: 'kes' },
          'INVALID_COMMAND',
        ],
        [
          '4-letter currency',
          { ...tr('tr_x', 'acc_alice', 'acc_shop', 5n), currency: 'KESH' },
          'INVALID_COMMAND',
        ],
        ['empty id', { ...tr('', 'acc_alice', 'acc_shop', 5n) }, 'INVALID_COMMAND'],
        ['id with spaces', { ...tr('tr x', 'acc_alice', 'acc_shop', 5n) }, 'INVALID_COMMAND'],
        [
          'negative timeout',
          { ...tr('tr_x', 'acc_alice', 'acc_shop', 5n, { pending: true, timeoutMs: -1 }) },
          'INVALID_COMMAND',
        ],
        [
          'timeout on a posted transfer',
          { ...tr('tr_x', 'acc_alice', 'acc_shop', 5n, { timeoutMs: 10 }) },
          'INVALID_COMMAND',
        ],
        [
          'pending not a boolean',
          { ...tr('tr_x', 'acc_alice', 'acc_shop', 5n), pending: 'yes' },
          'INVALID_COMMAND',
        ],
        [
          'code too long',
          { ...tr('tr_x', 'acc_alice', 'acc_shop', 5n, { code: 'c'.repeat(65) }) },
          'INVALID_COMMAND',
        ],
        ['unknown kind', { kind: 'mint', id: 'tr_x' }, 'INVALID_COMMAND'],
        ['null', null, 'INVALID_COMMAND'],
        [
          'post amount zero',
          { kind: 'post', id: 'tr_x', pendingId: 'tr_fund', amount: 0n },
          'AMOUNT_NOT_POSITIVE',
        ],
        [
          'account with bad rule',
          { kind: 'createAccount', id: 'acc_x', currency: 'KES', rule: 'nope', code: 'c' },
          'INVALID_COMMAND',
        ],
        [
          'account without code',
          { kind: 'createAccount', id: 'acc_x', currency: 'KES', rule: 'none' },
          'INVALID_COMMAND',
        ],
      ];

      it.each(cases)('%s → %s, nothing changes', async (_name, cmd, code) => {
        const before = await snapshot(ledger, ['acc_alice', 'acc_shop', 'acc_bank', 'acc_x']);
        const totals = await ledger.totals();
        const [r] = await ledger.execute([cmd as LedgerCommand]);
        expect(r).toMatchObject({ ok: false, code });
        expect(await snapshot(ledger, ['acc_alice', 'acc_shop', 'acc_bank', 'acc_x'])).toEqual(before);
        expect(await ledger.totals()).toEqual(totals);
        expect(await ledger.getTransfer('tr_x')).toBeUndefined();
      });

      it('rejects a batch that is not an array, and never throws for a bad command', async () => {
        await expect(ledger.execute('nope' as unknown as LedgerCommand[])).rejects.toBeInstanceOf(
          LedgerError,
        );
        const hostile = Object.defineProperty({ kind: 'transfer' }, 'id', {
          get() {
            throw new Error('boom');
          },
        });
        expect(codeOf((await ledger.execute([hostile as LedgerCommand]))[0])).toBe('INVALID_COMMAND');
        await expect(ledger.transfer(tr('tr_y', 'acc_alice', 'acc_shop', -1n))).rejects.toMatchObject({
          code: 'AMOUNT_NOT_POSITIVE',
        });
      });

      it('refuses sums that would leave the 64-bit range', async () => {
        await open('acc_big');
        const max = 2n ** 63n - 1n;
        // acc_bank has already paid 1000: this brings its debits to the maximum.
        expect(codeOf(await one(tr('tr_m1', 'acc_bank', 'acc_big', max - 1000n)))).toBe('OK');
        expect(codeOf(await one(tr('tr_m2', 'acc_bank', 'acc_big', 1n)))).toBe('INVALID_COMMAND');
      });
    });
  });
}
