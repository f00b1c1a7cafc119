import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, operatorMain } from '@semops/cli';
import { freshNetwork } from './helpers.js';

/**
 * Every node keeps an append-only, hash-chained audit log of operator actions, credential changes and blocks;
 * `semops audit verify` finds any edit, deletion or cut tail.
 */
describe('audit log', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: {} };
  const semops = (name: 'audit' | 'customers', ...args: string[]) =>
    operatorMain(name, [...args, '--dir', env.dir], io);

  beforeAll(async () => {
    env = await freshNetwork();
  }, 60_000);
  afterAll(async () => env?.close());

  it('records operator actions, credential changes and blocks, in order, with their outcome', async () => {
    const p = env.net.processors.get('bank-a')!;
    const c = await env.ctx.customer('bank-a', 5_00n);
    expect(await semops('customers', 'block', 'bank-a', c.phone)).toBe(0);
    const refused = await call('POST', `${p.url}/v1/admin/customers/${c.customerId}/unblock`, {
      token: 'wrong-token-1',
    });
    expect(refused.status).toBe(401);
    await expect
      .poll(async () => {
        const r = await call<{
          entries: Array<{ actor: string; action: string; subject: string | null; outcome: string }>;
        }>('GET', `${p.url}/v1/admin/audit?limit=1000`, { token: p.adminToken });
        return r.body.entries.map((e) => `${e.actor} ${e.action} ${e.subject ?? '-'} ${e.outcome}`);
      })
      .toEqual(
        expect.arrayContaining([
          `operator POST /v1/admin/customers - 201`,
          expect.stringMatching(/^client:\S+ POST \/v1\/wallet\/enrol - 201$/),
          `operator POST /v1/admin/customers/:id/block ${c.customerId} 200`,
          `operator POST /v1/admin/customers/:id/unblock ${c.customerId} 401`,
        ]),
      );
    out.length = 0;
    expect(await semops('audit', 'verify')).toBe(0);
    expect(out.join('')).toMatch(/bank-a\s+ok: \d+ entries/);
    expect(out.join('')).toMatch(/hub\s+ok: \d+ entries/);
  });

  it('finds an edited entry, a deleted one and a cut tail', async () => {
    const p = env.net.processors.get('bank-a')!;
    const db = new Database(join(p.dataDir, 'bank-a.db'));
    db.pragma('busy_timeout = 5000');
    try {
      const verify = async () => {
        out.length = 0;
        err.length = 0;
        const code = await semops('audit', 'verify');
        return { code, text: out.join('') };
      };
      const expectTampered = (v: { code: number; text: string }, why: RegExp) => {
        expect(v.code).toBe(1);
        expect(v.text).toMatch(why);
      };
      const second = db.prepare('SELECT * FROM audit_log WHERE seq = 2').get() as { outcome: string };
      db.prepare("UPDATE audit_log SET outcome = '999' WHERE seq = 2").run();
      expectTampered(await verify(), /bank-a\s+TAMPERED: entry 2 was changed/);
      db.prepare('UPDATE audit_log SET outcome = ? WHERE seq = 2').run(second.outcome);
      expect((await verify()).code).toBe(0);

      const row = db.prepare('SELECT * FROM audit_log WHERE seq = 2').get() as Record<string, unknown>;
      db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
      expectTampered(await verify(), /entries 2–2 are missing/);
      db.prepare(
        'INSERT INTO audit_log (seq, at, actor, action, subject, outcome, hash) VALUES (@seq, @at, @actor, @action, @subject, @outcome, @hash)',
      ).run(row);
      expect((await verify()).code).toBe(0);

      db.prepare('DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)').run();
      expectTampered(await verify(), /the head counts \d+ entries, the log has/);
    } finally {
      db.close();
    }
  });
});
