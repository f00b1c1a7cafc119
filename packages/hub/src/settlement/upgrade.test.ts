import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { createLedgerFor, migrateStore, openStore } from '@semops/node';
import {
  generateEncryptionKeys,
  generateSigningKeys,
  newId,
  publicPart,
  type Participant,
} from '@semops/protocol';
import { createHub } from '../app.js';
import { liquidityAccountId, positionAccountId, type PositionView } from '../positions/service.js';
import { hubMigrations, type HubDb } from '../shared/schema.js';
import { describeEngines } from '../testing/engines.js';
import { settlementBookings, settlementSums } from '../testing/ledger-rows.js';
import type { WindowReport } from './report.js';
import type { WindowView } from './service.js';

const participant = async (id: string, routingPrefix: string): Promise<Participant> => ({
  id,
  name: id,
  kind: 'bank',
  baseUrl: 'http://127.0.0.1:9',
  currencies: ['EUR'],
  routingPrefix,
  signingKey: publicPart((await generateSigningKeys()).publicJwk) as Participant['signingKey'],
  encryptionKey: publicPart((await generateEncryptionKeys()).publicJwk) as Participant['encryptionKey'],
});

describeEngines('a hub data directory from before settlement', (engine) => {
  it('keeps working: settlement accounts opened, earlier transfers in the first window, settled into liquidity', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'semops-hub-upgrade-'));
    const { databaseUrl, schema } = engine.options();
    const url = databaseUrl ?? join(dataDir, 'hub.db');
    const open = () => openStore({ dataDir, name: 'hub', url, ...(schema === undefined ? {} : { schema }) });

    // The hub as it was: its first five migrations, position and liquidity accounts, one committed payment.
    const store = await open();
    const before = Object.fromEntries(
      Object.entries(hubMigrations(store.engine)).filter(([n]) => n < '0006'),
    );
    await migrateStore(store, 'hub', before);
    const db = store.db as HubDb;
    const ledger = await createLedgerFor(store);
    for (const [id, prefix] of [
      ['bank-a', '101'],
      ['mno-b', '202'],
    ] as const) {
      const p = await participant(id, prefix);
      // A participants row as that hub wrote it (before key rotation: one signing key, no TLS pin).
      await db
        .insertInto('participants')
        .values({
          id: p.id,
          name: p.name,
          kind: p.kind,
          base_url: p.baseUrl,
          currencies: JSON.stringify(p.currencies),
          routing_prefix: p.routingPrefix,
          signing_key: JSON.stringify(p.signingKey),
          encryption_key: JSON.stringify(p.encryptionKey),
          created_at: Date.now(),
          updated_at: Date.now(),
        })
        .execute();
      const accounts = await ledger.executeAtomic([
        {
          kind: 'createAccount',
          id: positionAccountId(id, 'EUR'),
          currency: 'EUR',
          rule: 'debits_must_not_exceed_credits',
          code: 'position',
        },
        {
          kind: 'createAccount',
          id: liquidityAccountId(id, 'EUR'),
          currency: 'EUR',
          rule: 'none',
          code: 'liquidity',
        },
      ]);
      expect(accounts.every((r) => r.ok)).toBe(true);
    }
    const transferId = newId('pay');
    const booked = await ledger.execute([
      {
        kind: 'transfer',
        id: 'dep-1',
        debitAccountId: 'liq:bank-a:EUR',
        creditAccountId: 'pos:bank-a:EUR',
        amount: 10_000n,
        currency: 'EUR',
        code: 'deposit',
      },
      {
        kind: 'transfer',
        id: transferId,
        debitAccountId: 'pos:bank-a:EUR',
        creditAccountId: 'pos:mno-b:EUR',
        amount: 1_000n,
        currency: 'EUR',
        pending: true,
        code: 'payment',
      },
      { kind: 'post', id: `${transferId}:post`, pendingId: transferId },
    ]);
    expect(booked.every((r) => r.ok)).toBe(true);
    await sql`INSERT INTO transfers (transfer_id, request_id, payer, payee, amount, currency, expires_at, state,
      receipt, content_hash, ledger_done, created_at, updated_at)
      VALUES (${transferId}, ${newId('req')}, 'bank-a', 'mno-b', '1000', 'EUR', ${Date.now() + 60_000}, 'COMMITTED',
      'receipt', 'hash', 1, ${Date.now()}, ${Date.now()})`.execute(db);
    await ledger.close();
    await store.close();

    const hub = await createHub({
      dataDir,
      databaseUrl: url,
      ...(schema === undefined ? {} : { schema }),
      adminToken: 'test-admin-token-123',
    });
    try {
      const http = async <T>(method: string, path: string, body?: unknown) => {
        const res = await fetch(`${hub.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${hub.adminToken}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: res.status, body: (await res.json()) as T };
      };
      const positions = async () =>
        (await http<{ positions: PositionView[] }>('GET', '/v1/admin/positions')).body.positions;
      const row = (p: PositionView) => [p.processorId, p.liquidity, p.position, p.reserved, p.available];
      expect((await positions()).map(row)).toEqual([
        ['bank-a', '10000', '1000', '0', '9000'],
        ['mno-b', '0', '-1000', '0', '1000'],
      ]);
      const { windows } = (await http<{ windows: WindowView[] }>('GET', '/v1/admin/settlement/windows')).body;
      expect(windows).toEqual([
        {
          windowId: expect.stringMatching(/^win_/) as string,
          state: 'OPEN',
          openedAt: expect.any(Number) as number,
          transfers: 1,
        },
      ]);

      const closed = await http<WindowReport>('POST', '/v1/admin/settlement/windows/close', {});
      expect(closed.status).toBe(200);
      expect(closed.body.positions.map((p) => [p.processorId, p.net])).toEqual([
        ['bank-a', '-1000'],
        ['mno-b', '1000'],
      ]);
      expect(closed.body.settlement?.map((s) => s.booked)).toEqual([true, true]);
      // bank-a paid its 10.00 out of its liquidity, mno-b has it in its own; neither can send more than before.
      expect((await positions()).map(row)).toEqual([
        ['bank-a', '9000', '0', '0', '9000'],
        ['mno-b', '1000', '0', '0', '1000'],
      ]);
      // The report lines of the first window have the column added after it (no conversion fee).
      expect(closed.body.positions.map((p) => [p.fxMargin, p.fxFee])).toEqual([
        ['0', '0'],
        ['0', '0'],
      ]);
      const w = closed.body.windowId;
      const reader = await open();
      try {
        const rows = await settlementBookings(reader, w);
        expect(rows).toEqual([
          {
            id: `${w}:bank-a:EUR`,
            debit: 'stl:bank-a:EUR',
            credit: 'liq:bank-a:EUR',
            amount: 1000n,
            currency: 'EUR',
          },
          {
            id: `${w}:mno-b:EUR`,
            debit: 'liq:mno-b:EUR',
            credit: 'stl:mno-b:EUR',
            amount: 1000n,
            currency: 'EUR',
          },
        ]);
        expect(settlementSums(rows)).toEqual(new Map([['EUR', 0n]]));
      } finally {
        await reader.close();
      }
    } finally {
      await hub.close();
      if (schema !== undefined) {
        const s = await open();
        await sql`DROP SCHEMA ${sql.id(s.pg?.schema ?? schema)} CASCADE`.execute(s.db);
        await s.close();
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describeEngines('a hub data directory from before conversion fees in the report', (engine) => {
  it('keeps the report lines of closed windows, with no conversion fee', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'semops-hub-upgrade-'));
    const { databaseUrl, schema } = engine.options();
    const store = await openStore({
      dataDir,
      name: 'hub',
      url: databaseUrl ?? join(dataDir, 'hub.db'),
      ...(schema === undefined ? {} : { schema }),
    });
    try {
      const all = hubMigrations(store.engine);
      await migrateStore(store, 'hub', Object.fromEntries(Object.entries(all).filter(([n]) => n < '0008')));
      const db = store.db as HubDb;
      await sql`INSERT INTO settlement_positions (window_id, processor_id, currency, sent, received,
        interchange_paid, interchange_received, msc, fx_margin, transfers, net, booked_at)
        VALUES ('win_old', 'bank-a', 'EUR', '1000', '0', '0', '0', '0', '0', 1, '-1000', 1),
               ('win_old', 'mno-b', 'EUR', '0', '1000', '0', '0', '0', '7', 1, '1000', 1)`.execute(db);
      await migrateStore(store, 'hub', all);
      const rows = await db
        .selectFrom('settlement_positions')
        .select(['processor_id', 'fx_margin', 'fx_fee', 'net'])
        .orderBy('processor_id')
        .execute();
      expect(rows).toEqual([
        { processor_id: 'bank-a', fx_margin: '0', fx_fee: '0', net: '-1000' },
        { processor_id: 'mno-b', fx_margin: '7', fx_fee: '0', net: '1000' },
      ]);
    } finally {
      if (store.pg) await sql`DROP SCHEMA ${sql.id(store.pg.schema)} CASCADE`.execute(store.db);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
