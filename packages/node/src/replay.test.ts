// The replay guard: each message id is accepted once while the message is valid, across a restart of the
// node, on SQLite and on PostgreSQL; ids past their expiry are dropped (a message past its expiry is refused
// for that reason), so the table does not grow without end.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReplayGuard } from './replay.js';
import { openStore, postgresReachable, testPostgresUrl, type Store } from './store.js';

const T0 = 1_800_000_000_000;
const pgUrl = testPostgresUrl();
const pgSkip =
  (await postgresReachable(pgUrl)) || process.env.CI === 'true'
    ? false
    : `no PostgreSQL at ${new URL(pgUrl).host}`;

const ENGINES = [
  {
    name: 'SQLite',
    skip: false as const,
    async open(): Promise<{ store: Store; reopen: () => Promise<Store>; drop: () => Promise<void> }> {
      const dir = mkdtempSync(join(tmpdir(), 'semops-replay-'));
      const open = () => openStore({ dataDir: dir, name: 'node', url: join(dir, 'node.db') });
      return {
        store: await open(),
        reopen: open,
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: `PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`,
    skip: pgSkip,
    async open() {
      const schema = `replay_test_${randomBytes(6).toString('hex')}`;
      const open = () => openStore({ dataDir: tmpdir(), name: 'node', url: pgUrl, schema });
      return {
        store: await open(),
        reopen: open,
        drop: async () => {
          const s = await open();
          await s.pg!.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await s.close();
        },
      };
    },
  },
];

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(`replay guard on ${engine.name}`, () => {
    let store: Store;
    let reopen: () => Promise<Store>;
    let drop: () => Promise<void>;
    let clock: number;
    const now = () => clock;

    beforeEach(async () => {
      clock = T0;
      ({ store, reopen, drop } = await engine.open());
    });
    afterEach(async () => {
      await store.close();
      await drop();
    });

    /** Closes the guard and its store (as a node stopping), then opens both again. */
    async function restart(guard: { close(): Promise<void> }) {
      await guard.close();
      await store.close();
      store = await reopen();
      return createReplayGuard(store, { now });
    }

    const stored = async () =>
      (await store.db.selectFrom('seen_messages').select('id').orderBy('id').execute()).map(
        (r: { id: string }) => r.id,
      );

    it('accepts each id once', async () => {
      const guard = await createReplayGuard(store, { now });
      expect(guard.remember('msg_a', T0 + 60_000)).toBe(true);
      expect(guard.remember('msg_a', T0 + 60_000)).toBe(false);
      expect(guard.remember('msg_a', T0 + 120_000)).toBe(false);
      expect(guard.remember('msg_b', T0 + 60_000)).toBe(true);
      await guard.close();
    });

    it('still refuses the ids it accepted after a restart, and forgets those that expired meanwhile', async () => {
      let guard = await createReplayGuard(store, { now });
      expect(guard.remember('msg_long', T0 + 60_000)).toBe(true);
      expect(guard.remember('msg_short', T0 + 1_000)).toBe(true);
      clock = T0 + 2_000;
      guard = await restart(guard);
      expect(guard.remember('msg_long', T0 + 60_000)).toBe(false);
      expect(guard.remember('msg_short', T0 + 1_000)).toBe(true);
      await guard.close();
    });

    it('keeps every id of a large burst (written in batches) across a restart', async () => {
      let guard = await createReplayGuard(store, { now });
      const ids = Array.from({ length: 1_234 }, (_, i) => `msg_${String(i).padStart(5, '0')}`);
      for (const id of ids) expect(guard.remember(id, T0 + 60_000)).toBe(true);
      guard = await restart(guard);
      expect(ids.filter((id) => guard.remember(id, T0 + 60_000))).toEqual([]);
      expect(await stored()).toHaveLength(ids.length);
      await guard.close();
    });

    it('drops ids past their expiry from the store as new ones come in', async () => {
      let guard = await createReplayGuard(store, { now });
      guard.remember('msg_old', T0 + 1_000);
      guard.remember('msg_new', T0 + 60_000);
      guard = await restart(guard);
      expect(await stored()).toEqual(['msg_new', 'msg_old']);
      clock = T0 + 30_000;
      guard.remember('msg_next', T0 + 90_000);
      await guard.close();
      expect(await stored()).toEqual(['msg_new', 'msg_next']);
    });
  });
}
