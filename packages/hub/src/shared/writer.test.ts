import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEngines, openTestStore, type TestStore } from '../testing/engines.js';
import { createWriter, type Writer } from './writer.js';

let t: TestStore;
let writer: Writer;

const alias = (n: number) => n.toString(16).padStart(64, '0');
const aliases = async () =>
  (await t.db.selectFrom('directory').select('alias').orderBy('alias').execute()).map((r) => r.alias);

describeEngines('writer (group commit)', (engine) => {
  beforeAll(async () => {
    t = await openTestStore(engine);
    writer = createWriter(t.db);
  });
  afterAll(async () => {
    await t?.discard();
  });

  it('commits the writes of one turn together, a failing write undoing only its own changes', async () => {
    const insert = (n: number) =>
      t.db.insertInto('directory').values({ alias: alias(n), processor_id: 'bank-a', updated_at: n });
    const first = writer.write(async (tx) => {
      await tx.executeQuery(insert(1).compile());
      return 'first';
    });
    const thrown = writer.write(async (tx) => {
      await tx.executeQuery(insert(2).compile());
      throw new Error('changed its mind');
    });
    // A failing statement: on PostgreSQL it spoils the whole transaction, which must then be run again.
    const refused = writer.write((tx) =>
      tx.insertInto('directory').values({ alias: 'short', processor_id: 'bank-a', updated_at: 3 }).execute(),
    );
    const last = writer.write(async (tx) => {
      await tx.executeQuery(insert(4).compile());
      return 'last';
    });
    await expect(first).resolves.toBe('first');
    await expect(thrown).rejects.toThrow('changed its mind');
    await expect(refused).rejects.toThrow();
    await expect(last).resolves.toBe('last');
    expect(await aliases()).toEqual([alias(1), alias(4)]);
  });

  it('a lone failing write changes nothing, and the next group works', async () => {
    await expect(
      writer.write(async (tx) => {
        await tx
          .insertInto('directory')
          .values({ alias: alias(5), processor_id: 'bank-a', updated_at: 5 })
          .execute();
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    await writer.write((tx) =>
      tx
        .insertInto('directory')
        .values({ alias: alias(6), processor_id: 'bank-a', updated_at: 6 })
        .execute(),
    );
    expect(await aliases()).toEqual([alias(1), alias(4), alias(6)]);
  });

  it('runs many concurrent writes, each exactly once, and drains', async () => {
    const writes = Array.from({ length: 300 }, (_, i) =>
      writer.write((tx) =>
        tx
          .insertInto('directory')
          .values({ alias: alias(1000 + i), processor_id: 'mno-b', updated_at: i })
          .execute(),
      ),
    );
    await writer.drain();
    await Promise.all(writes);
    const n = await t.db
      .selectFrom('directory')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('processor_id', '=', 'mno-b')
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(300);
  });
});
