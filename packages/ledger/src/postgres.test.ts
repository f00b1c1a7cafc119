// PostgreSQL-specific behaviour: the schema and its migration, the caller's pool, and several
// instances of a node sharing one database.
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createPostgresLedger, createScratchSchema, type ScratchSchema } from './index.js';
import { PG_TEST_URL, describeStore, postgresStore } from './test-helpers.js';
import type { Ledger, LedgerCommand, LedgerResult } from './types.js';

/** A small deterministic generator (mulberry32), so a failing run can be repeated. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describeStore(postgresStore, 'PostgreSQL store', () => {
  let scratch: ScratchSchema;
  let pool: pg.Pool;
  let s: string;
  beforeEach(async () => {
    scratch = await createScratchSchema(PG_TEST_URL);
    s = `"${scratch.schema}"`;
    pool = new pg.Pool({ connectionString: PG_TEST_URL, max: 4 });
  });
  afterEach(async () => {
    await pool.end();
    await scratch.drop();
  });

  it('creates its tables in the schema, records the version, and can be created twice', async () => {
    await pool.query(`CREATE TABLE ${s}.payments (id text PRIMARY KEY)`);
    await (await createPostgresLedger({ pool, schema: scratch.schema })).close();
    await (await createPostgresLedger({ pool, schema: scratch.schema })).close();
    const tables = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [scratch.schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'ledger_accounts',
      'ledger_pending_timeouts',
      'ledger_schema_version',
      'ledger_transfers',
      'payments',
    ]);
    expect((await pool.query(`SELECT version FROM ${s}.ledger_schema_version`)).rows).toEqual([
      { version: 1 },
    ]);
  });

  it('creates a missing schema, and refuses a name that is not a plain identifier', async () => {
    const schema = `${scratch.schema}_new`;
    try {
      await (await createPostgresLedger({ pool, schema })).close();
      const found = await pool.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [
        schema,
      ]);
      expect(found.rowCount).toBe(1);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
    await expect(createPostgresLedger({ pool, schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(RangeError);
  });

  it('refuses a database written by a newer schema', async () => {
    await (await createPostgresLedger({ pool, schema: scratch.schema })).close();
    await pool.query(`UPDATE ${s}.ledger_schema_version SET version = 99`);
    await expect(createPostgresLedger({ pool, schema: scratch.schema })).rejects.toThrow(/newer/);
  });

  it("reads bigint on its own queries only, and leaves the caller's pool open", async () => {
    const ledger = await createPostgresLedger({ pool, schema: scratch.schema });
    await ledger.createAccount({ id: 'acc_a', currency: 'KES', rule: 'none', code: 'x' });
    expect((await ledger.getAccount('acc_a'))?.debitsPosted).toBe(0n);
    await ledger.close();
    const { rows } = await pool.query(`SELECT debits_posted FROM ${s}.ledger_accounts`);
    expect(rows).toEqual([{ debits_posted: '0' }]);
  });

  it('enforces amounts, states and the balance rules in the database too', async () => {
    await (await createPostgresLedger({ pool, schema: scratch.schema })).close();
    await pool.query(`INSERT INTO ${s}.ledger_accounts (id, currency, rule, code, created_at)
      VALUES ('a', 'KES', 'none', 'x', 0), ('b', 'KES', 'none', 'x', 0)`);
    const insert = (amount: number, state: string) =>
      pool.query(
        `INSERT INTO ${s}.ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, currency,
           state, created_at) VALUES ('t', 'single', 'a', 'b', $1, 'KES', $2, 0)`,
        [amount, state],
      );
    await expect(insert(0, 'posted')).rejects.toThrow(/check constraint/);
    await expect(insert(5, 'lost')).rejects.toThrow(/check constraint/);
    await expect(
      pool.query(
        `UPDATE ${s}.ledger_accounts SET rule = 'debits_must_not_exceed_credits', debits_posted = 1`,
      ),
    ).rejects.toThrow(/check constraint/);
  });

  it('runs two instances on one schema: concurrent payments keep every balance right', async () => {
    const pools = [
      new pg.Pool({ connectionString: PG_TEST_URL, max: 3 }),
      new pg.Pool({ connectionString: PG_TEST_URL, max: 3 }),
    ];
    const ledgers: Ledger[] = [];
    try {
      for (const p of pools) ledgers.push(await createPostgresLedger({ pool: p, schema: scratch.schema }));
      const [a, b] = ledgers as [Ledger, Ledger];
      const customers = ['acc_c0', 'acc_c1', 'acc_c2', 'acc_c3'];
      const setup = await a.execute([
        { kind: 'createAccount', id: 'acc_bank', currency: 'KES', rule: 'none', code: 'funding' },
        {
          kind: 'createAccount',
          id: 'acc_shop',
          currency: 'KES',
          rule: 'debits_must_not_exceed_credits',
          code: 'm',
        },
        ...customers.flatMap((id): LedgerCommand[] => [
          { kind: 'createAccount', id, currency: 'KES', rule: 'debits_must_not_exceed_credits', code: 'c' },
          {
            kind: 'transfer',
            id: `tr_fund_${id}`,
            debitAccountId: 'acc_bank',
            creditAccountId: id,
            amount: 1000n,
            currency: 'KES',
          },
        ]),
      ]);
      expect(setup.every((r) => r.ok)).toBe(true);
      const accounts = ['acc_bank', 'acc_shop', ...customers];

      const rnd = random(20250101);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const results: Array<{ cmd: LedgerCommand; result: LedgerResult }> = [];
      const run = async (ledger: Ledger, cmd: LedgerCommand): Promise<LedgerResult> => {
        const [result] = await ledger.execute([cmd]);
        if (result === undefined) throw new Error('no result');
        results.push({ cmd, result });
        return result;
      };
      // Each worker makes payments between the same few accounts on one instance; reservations are
      // ended by the other instance; some ids are sent to both instances at once, with the same
      // content or with different accounts.
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; i < 30; i++) {
          const [here, there] = (w + i) % 2 === 0 ? [a, b] : [b, a];
          const from = pick(customers);
          const to = pick([...customers, 'acc_shop'].filter((x) => x !== from));
          const id = `tr_${w}_${i}`;
          const amount = BigInt(1 + Math.floor(rnd() * 300));
          const transfer = (pending: boolean): LedgerCommand => ({
            kind: 'transfer',
            id,
            debitAccountId: from,
            creditAccountId: to,
            amount,
            currency: 'KES',
            pending,
          });
          const roll = rnd();
          if (roll < 0.4) {
            await run(here, transfer(false));
          } else if (roll < 0.8) {
            const hold = await run(here, transfer(true));
            if (!hold.ok) continue;
            const end: LedgerCommand =
              rnd() < 0.7
                ? {
                    kind: 'post',
                    id: `${id}:post`,
                    pendingId: id,
                    ...(rnd() < 0.3 ? { amount: amount / 2n + 1n } : {}),
                  }
                : { kind: 'void', id: `${id}:void`, pendingId: id };
            await Promise.all([run(there, end), run(here, end)]);
          } else if (roll < 0.85) {
            await Promise.all([run(here, transfer(false)), run(there, transfer(false))]);
          } else if (roll < 0.92) {
            // The same id between two other accounts: the batches lock nothing in common, so both
            // insert it and the second must notice, start again and refuse.
            const [o1, o2] = customers.filter((x) => x !== from && x !== to);
            await Promise.all([
              run(here, transfer(false)),
              run(there, { ...transfer(false), debitAccountId: o1!, creditAccountId: o2! } as LedgerCommand),
            ]);
          } else {
            // A reservation and its post at the same time on the two instances.
            const post: LedgerCommand = { kind: 'post', id: `${id}:post`, pendingId: id };
            await Promise.all([run(here, transfer(true)), run(there, post)]);
            await run(here, { kind: 'void', id: `${id}:void`, pendingId: id });
          }
        }
      };
      await Promise.all(Array.from({ length: 24 }, (_, w) => worker(w)));
      expect(results.length).toBeGreaterThan(700);

      // Every command id is applied at most once, whichever instance got it first.
      const applied = new Map<string, number>();
      for (const { cmd, result } of results) {
        if (cmd.kind === 'createAccount' || !result.ok || result.replayed) continue;
        applied.set(cmd.id, (applied.get(cmd.id) ?? 0) + 1);
      }
      expect([...applied.values()].every((n) => n === 1)).toBe(true);
      const codes = new Set(results.map(({ result }) => (result.ok ? 'OK' : result.code)));
      for (const code of ['OK', 'EXCEEDS_CREDITS', 'ID_EXISTS_DIFFERENT']) expect(codes).toContain(code);
      expect([...codes].filter((c) => !c.startsWith('PENDING_')).sort()).toEqual([
        'EXCEEDS_CREDITS',
        'ID_EXISTS_DIFFERENT',
        'OK',
      ]);

      // Each account's sums are the sums of its records, and no rule is broken.
      const { rows } = await pool.query<{ id: string; ok: boolean; rule_ok: boolean }>(
        `SELECT a.id,
           (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) = (
             coalesce(sum(t.amount) FILTER (WHERE t.debit_account_id = a.id AND t.kind IN ('single', 'post')), 0),
             coalesce(sum(t.amount) FILTER (WHERE t.credit_account_id = a.id AND t.kind IN ('single', 'post')), 0),
             coalesce(sum(t.amount) FILTER (WHERE t.debit_account_id = a.id AND t.kind = 'pending' AND t.state = 'pending'), 0),
             coalesce(sum(t.amount) FILTER (WHERE t.credit_account_id = a.id AND t.kind = 'pending' AND t.state = 'pending'), 0)
           ) AS ok,
           a.rule <> 'debits_must_not_exceed_credits' OR a.debits_pending + a.debits_posted <= a.credits_posted AS rule_ok
         FROM ${s}.ledger_accounts a
         LEFT JOIN ${s}.ledger_transfers t ON a.id IN (t.debit_account_id, t.credit_account_id)
         GROUP BY a.id ORDER BY a.id`,
      );
      expect(rows).toEqual(accounts.sort().map((id) => ({ id, ok: true, rule_ok: true })));
      const [kes] = await b.totals();
      expect(kes?.debitsPosted).toBe(kes?.creditsPosted);
      expect(kes?.debitsPending).toBe(kes?.creditsPending);
      expect(kes?.debitsPosted).toBeGreaterThan(4000n);
      // Each reservation ended at most once, as its own state says.
      const ends = await pool.query(
        `SELECT p.id FROM ${s}.ledger_transfers p
         LEFT JOIN ${s}.ledger_transfers e ON e.pending_id = p.id
         WHERE p.kind = 'pending'
         GROUP BY p.id, p.state
         HAVING count(e.id) > 1 OR (p.state IN ('posted', 'voided')) <> (count(e.id) = 1)`,
      );
      expect(ends.rows).toEqual([]);
    } finally {
      for (const l of ledgers) await l.close();
      for (const p of pools) await p.end();
    }
  });

  it('applies an id sent to two instances at once only once, even between other accounts', async () => {
    const a = await createPostgresLedger({ pool, schema: scratch.schema });
    const b = await createPostgresLedger({ pool: PG_TEST_URL, schema: scratch.schema });
    try {
      await a.execute(
        ['acc_p', 'acc_q', 'acc_r', 'acc_s'].map((id) => ({
          kind: 'createAccount',
          id,
          currency: 'KES',
          rule: 'none',
          code: 'x',
        })),
      );
      const tr = (id: string, from: string, to: string): LedgerCommand => ({
        kind: 'transfer',
        id,
        debitAccountId: from,
        creditAccountId: to,
        amount: 1n,
        currency: 'KES',
      });
      for (let i = 0; i < 20; i++) {
        // The two batches lock no account in common, so both try to insert the id.
        const [[x], [y]] = await Promise.all([
          a.execute([tr(`tr_${i}`, 'acc_p', 'acc_q')]),
          b.execute([tr(`tr_${i}`, 'acc_r', 'acc_s')]),
        ]);
        expect([x?.ok, y?.ok].filter(Boolean)).toHaveLength(1);
        expect([x, y].find((r) => r?.ok === false)).toMatchObject({ code: 'ID_EXISTS_DIFFERENT' });
      }
      const [kes] = await a.totals();
      expect(kes?.debitsPosted).toBe(20n);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('starts a batch again when a reservation it ends was made while it waited for its locks', async () => {
    let clockReads = 0;
    const a = await createPostgresLedger({
      pool,
      schema: scratch.schema,
      clock: () => {
        clockReads += 1;
        return Date.now();
      },
    });
    const b = await createPostgresLedger({ pool: PG_TEST_URL, schema: scratch.schema });
    const blocker = await pool.connect();
    try {
      await b.execute(
        ['acc_p', 'acc_q', 'acc_w', 'acc_z'].map((id) => ({
          kind: 'createAccount',
          id,
          currency: 'KES',
          rule: 'none',
          code: 'x',
        })),
      );
      // Hold acc_z, so that a's batch waits in the middle of taking its locks.
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM ${s}.ledger_accounts WHERE id = 'acc_z' FOR UPDATE`);
      clockReads = 0;
      const batch = a.execute([
        {
          kind: 'transfer',
          id: 'tr_wz',
          debitAccountId: 'acc_w',
          creditAccountId: 'acc_z',
          amount: 1n,
          currency: 'KES',
        },
        { kind: 'post', id: 'tr_pq:post', pendingId: 'tr_pq' },
      ]);
      const waiting = async (): Promise<boolean> => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
          [`%${scratch.schema}%FOR NO KEY UPDATE%`],
        );
        return rows[0]?.n === 1;
      };
      while (!(await waiting())) await new Promise((r) => setTimeout(r, 10));
      // Meanwhile b makes the reservation, on accounts a has not locked.
      await b.transfer({
        id: 'tr_pq',
        debitAccountId: 'acc_p',
        creditAccountId: 'acc_q',
        amount: 7n,
        currency: 'KES',
        pending: true,
      });
      await blocker.query('COMMIT');
      const results = await batch;
      expect(results.map((r) => r.ok)).toEqual([true, true]);
      expect(clockReads).toBe(2);
      expect(await b.getAccount('acc_q')).toMatchObject({ creditsPending: 0n, creditsPosted: 7n });
    } finally {
      blocker.release();
      await a.close();
      await b.close();
    }
  });

  it('expires each reservation once when two instances expire at the same time', async () => {
    const clock = { now: Date.UTC(2025, 0, 1) };
    const a = await createPostgresLedger({ pool, schema: scratch.schema, clock: () => clock.now });
    const b = await createPostgresLedger({
      pool: PG_TEST_URL,
      schema: scratch.schema,
      clock: () => clock.now,
    });
    try {
      await a.execute([
        { kind: 'createAccount', id: 'acc_bank', currency: 'KES', rule: 'none', code: 'f' },
        { kind: 'createAccount', id: 'acc_shop', currency: 'KES', rule: 'none', code: 'm' },
        ...Array.from({ length: 50 }, (_, i): LedgerCommand => ({
          kind: 'transfer',
          id: `tr_${i}`,
          debitAccountId: 'acc_bank',
          creditAccountId: 'acc_shop',
          amount: 1n,
          currency: 'KES',
          pending: true,
          timeoutMs: 1000 + (i % 5),
        })),
      ]);
      clock.now += 2000;
      const [x, y] = await Promise.all([a.expirePending(), b.expirePending()]);
      const ids = [...x, ...y].map((t) => t.id).sort();
      expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `tr_${i}`).sort());
      expect(await a.getAccount('acc_bank')).toMatchObject({ debitsPending: 0n, debitsPosted: 0n });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
