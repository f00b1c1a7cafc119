import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, operatorMain } from '@semops/cli';
import type { TestCustomer } from '@semops/cli/testkit';
import {
  generateSigningKeys,
  importSigningKey,
  peekJws,
  publicPart,
  sealMessage,
  signKeyStatement,
  signingKeyId,
  type JWK,
  type KeyStatement,
  type Signer,
} from '@semops/protocol';
import { expectCode, expectConserved, freshNetwork } from './helpers.js';

interface KeysView {
  current: string;
  next: string;
  keys: Array<{ kid: string; since: number; until?: number }>;
}

/**
 * Node signing keys rotate without downtime: a processor (and the hub) switch to their next key while
 * payments flow, every payment completes, the replaced key is accepted during its overlap and refused with
 * KEY_RETIRED once retired; only the current key (or the hub's operator) can change a node's keys.
 */
describe('node signing key rotation', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: {} };
  const semops = (...args: string[]) => operatorMain('keys', [...args, '--dir', env.dir], io);
  const hubUrl = () => env.net.hub.url;
  /** bank-a's key as it was before its rotation: what a thief of an old key file holds. */
  let oldBankA: Required<Signer>;

  beforeAll(async () => {
    env = await freshNetwork();
  }, 60_000);
  afterAll(async () => env?.close());

  const keysOf = async (node: string) => {
    const n = node === 'hub' ? env.net.hub : env.net.processors.get(node)!;
    return (await call<KeysView>('GET', `${n.url}/v1/admin/keys`, { token: n.adminToken })).body;
  };
  const signerFromFile = async (node: string): Promise<Required<Signer>> => {
    const file = JSON.parse(readFileSync(join(env.dir, node, 'keys', 'keys.json'), 'utf8')) as {
      signing: { privateJwk: JWK; publicJwk: JWK };
    };
    return {
      id: node,
      key: await importSigningKey(file.signing.privateJwk),
      kid: await signingKeyId(node, file.signing.publicJwk),
    };
  };
  const statusQuery = { transferIds: ['pay_01JDXK7ZQ40000000000000000'] };
  const toHub = async (signer: Signer, type: string, body: unknown) =>
    call('POST', `${hubUrl()}/v1/messages`, {
      body: { jws: (await sealMessage(signer, 'hub', type, body)).jws },
    });

  it('rotates the payee, the payer and the hub while payments flow: every payment completes', async () => {
    const m = await env.ctx.merchant('mno-b', 'Always Open');
    const request = await m.client.createRequest({
      currency: 'EUR',
      minAmount: { value: '1', currency: 'EUR' },
      reference: 'rotation',
      reusable: true,
    });
    const customers: TestCustomer[] = await Promise.all(
      Array.from({ length: 4 }, (_, i) => env.ctx.customer('bank-a', 100_00n, `Rotating ${i}`)),
    );
    oldBankA = await signerFromFile('bank-a');
    const before = { a: await keysOf('bank-a'), b: await keysOf('mno-b'), hub: await keysOf('hub') };

    // Four customers pay one cent after another until told to stop; every outcome is kept.
    const outcomes: string[] = [];
    const receiptKids = new Set<string>();
    let stop = false;
    const workers = customers.map(async (c) => {
      while (!stop) {
        outcomes.push(
          await c.wallet.pay(request.qr, '1234', { value: '1', currency: 'EUR' }).then(
            // The payer keeps the payee's receipt only when its signature verified.
            (p) => {
              if (p.receipt) receiptKids.add(peekJws(p.receipt).kid);
              return p.receipt ? p.status : `${p.status} without a verified receipt`;
            },
            (e: { code?: string; message?: string }) => `${e.code ?? 'ERROR'} ${e.message ?? ''}`,
          ),
        );
      }
    });
    const completedAtLeast = (n: number) =>
      expect.poll(() => outcomes.length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(n);

    await completedAtLeast(8);
    for (const node of ['mno-b', 'bank-a', 'hub']) {
      out.length = 0;
      expect(await semops('rotate', node, '--overlap', '10m'), err.join('')).toBe(0);
      expect(out.join('')).toMatch(/rotated: the replaced key is accepted until/);
      await completedAtLeast(outcomes.length + 8);
    }
    stop = true;
    await Promise.all(workers);

    expect(outcomes.length).toBeGreaterThanOrEqual(32);
    expect(outcomes.filter((o) => o !== 'COMPLETED')).toEqual([]);
    // Receipts signed by mno-b's first key, then by its next one, all verified by bank-a.
    expect([...receiptKids].sort()).toEqual([before.b.current, before.b.next].sort());
    await expectConserved(env.ctx, 20_000);

    // Each node signs with what was its next key; the key it replaced is accepted until the overlap ends.
    for (const [node, was] of [
      ['bank-a', before.a],
      ['mno-b', before.b],
      ['hub', before.hub],
    ] as const) {
      const now = await keysOf(node);
      expect(now.current, node).toBe(was.next);
      expect(now.keys[1]).toMatchObject({ kid: was.current });
      expect(now.keys[1]!.until!).toBeGreaterThan(Date.now() + 5 * 60_000);
    }
    // The hub publishes the processors' new keys, and its own chain of statements.
    const list = await call<{ participants: Array<{ id: string; signingKeys: Array<{ kid: string }> }> }>(
      'GET',
      `${hubUrl()}/v1/participants`,
    );
    expect(list.body.participants.find((p) => p.id === 'mno-b')!.signingKeys.map((k) => k.kid)).toEqual([
      before.b.next,
      before.b.current,
    ]);
    const info = await call<{ statements: string[] }>('GET', `${hubUrl()}/v1/info`);
    expect(info.body.statements).toHaveLength(1);
    // The payer and the payee followed the hub's statement from the hub key they pinned, and pinned the new
    // one (bank-c, idle, follows when it next hears from the hub).
    for (const p of [env.net.processors.get('bank-a')!, env.net.processors.get('mno-b')!]) {
      const pin = JSON.parse(readFileSync(join(p.dataDir, 'hub.json'), 'utf8')) as {
        keys: Array<{ kid: string }>;
      };
      expect(
        pin.keys.map((k) => k.kid),
        p.id,
      ).toEqual([before.hub.next, before.hub.current]);
    }

    // Audited at the node (the operator's call) and at the hub (the processor's signed registration).
    const a = env.net.processors.get('bank-a')!;
    const audit = async (url: string, token: string) =>
      (
        await call<{
          entries: Array<{ actor: string; action: string; subject: string | null; outcome: string }>;
        }>('GET', `${url}/v1/admin/audit?limit=1000`, { token })
      ).body.entries.map((e) => `${e.actor} ${e.action} ${e.subject ?? '-'} ${e.outcome}`);
    expect(await audit(a.url, a.adminToken)).toContain('operator POST /v1/admin/keys/rotate - 200');
    const hubAudit = await audit(hubUrl(), env.net.hub.adminToken);
    expect(hubAudit).toContain(`node:bank-a keys.rotate ${before.a.current} ok`);
    expect(hubAudit).toContain(`node:mno-b keys.rotate ${before.b.current} ok`);
    expect(hubAudit).toContain('operator POST /v1/admin/keys/rotate - 200');
  }, 120_000);

  it('accepts the replaced key during its overlap, refuses it with KEY_RETIRED once retired', async () => {
    // During the overlap a message signed with the replaced key is still good (messages in flight).
    expect((await toHub(oldBankA, 'transfer.status', statusQuery)).status).toBe(200);

    // Holding the replaced key is not enough to change bank-a's keys: only its current key may.
    const thief = await generateSigningKeys();
    const thiefKid = await signingKeyId('bank-a', thief.publicJwk);
    const rotation: KeyStatement = {
      action: 'rotate',
      node: 'bank-a',
      kid: thiefKid,
      key: publicPart(thief.publicJwk) as Extract<KeyStatement, { action: 'rotate' }>['key'],
      previous: oldBankA.kid,
      overlapMs: 0,
      issuedAt: Date.now(),
    };
    const statement = await signKeyStatement(rotation, oldBankA.key, oldBankA.kid);
    const proof = await signKeyStatement(rotation, await importSigningKey(thief.privateJwk), thiefKid);
    await expectCode(toHub(oldBankA, 'keys.rotate', { statement, proof }), 422, 'KEY_ROTATION_INVALID');
    // Nor is a bearer token: bank-a's own admin token does not open the hub's registry, a wrong one not bank-a's keys.
    const a = env.net.processors.get('bank-a')!;
    const info = await a.admin.info();
    await expectCode(
      call('PUT', `${hubUrl()}/v1/admin/participants/bank-a`, {
        token: a.adminToken,
        body: { ...info, signingKey: publicPart(thief.publicJwk), baseUrl: a.url },
      }),
      401,
      'UNAUTHORIZED',
    );
    await expectCode(
      call('POST', `${a.url}/v1/admin/keys/rotate`, { token: 'not-the-admin-token', body: {} }),
      401,
      'UNAUTHORIZED',
    );

    out.length = 0;
    expect(await semops('retire', 'bank-a'), err.join('')).toBe(0);
    expect(out.join('')).toContain(`retired  ${oldBankA.kid}`);
    await expectCode(toHub(oldBankA, 'transfer.status', statusQuery), 401, 'KEY_RETIRED');
    // The current key works, and the refusal names the retired key.
    const current = await signerFromFile('bank-a');
    expect(current.kid).not.toBe(oldBankA.kid);
    expect((await toHub(current, 'transfer.status', statusQuery)).status).toBe(200);
    const refused = await toHub(oldBankA, 'transfer.status', statusQuery);
    expect(JSON.stringify(refused.body)).toContain(oldBankA.kid);

    const hubAudit = (
      await call<{ entries: Array<{ actor: string; action: string; outcome: string }> }>(
        'GET',
        `${hubUrl()}/v1/admin/audit?limit=1000`,
        { token: env.net.hub.adminToken },
      )
    ).body.entries.map((e) => `${e.actor} ${e.action} ${e.outcome}`);
    expect(hubAudit).toContain('node:bank-a keys.rotate KEY_ROTATION_INVALID');
    expect(hubAudit).toContain('node:bank-a keys.retire ok');
  });

  it('keeps the keys across a restart, and payments still complete', async () => {
    const a = env.net.processors.get('bank-a')!;
    const before = await keysOf('bank-a');
    await a.stop();
    await a.restart();
    const after = await keysOf('bank-a');
    expect(after.current).toBe(before.current);
    expect(after.next).toBe(before.next);
    expect(after.keys).toEqual(before.keys);

    const m = await env.ctx.merchant('mno-b', 'After Restart');
    const c = await env.ctx.customer('bank-a', 10_00n);
    const r = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '250', currency: 'EUR' },
      reference: 'after-restart',
    });
    expect((await c.wallet.pay(r.qr, '1234')).status).toBe('COMPLETED');
    await expectConserved(env.ctx);
  }, 60_000);
});
