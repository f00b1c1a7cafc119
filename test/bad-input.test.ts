import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '@semops/cli';
import {
  generateSigningKeys,
  importSigningKey,
  sealMessage,
  signJson,
  MAX_MESSAGE_LENGTH,
  MESSAGE_TYP,
  type JWK,
} from '@semops/protocol';
import { postDeclaringLength } from '@semops/hub/testing';
import { expectCode, freshNetwork } from './helpers.js';

/** Every endpoint answers bad input with a 4xx and a stable code, and changes nothing. */
describe('bad input', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let snapshot: () => Promise<string>;
  beforeAll(async () => {
    env = await freshNetwork();
    snapshot = async () => {
      const parts = [JSON.stringify(await env.net.hub.admin.positions())];
      for (const p of env.net.processors.values()) parts.push(JSON.stringify(await p.admin.ledger()));
      return parts.join('\n');
    };
  });
  afterAll(async () => env?.close());

  async function raw(url: string, body: string, contentType = 'application/json') {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  it('processor HTTP API: malformed, oversized, wrong type, unauthenticated, invalid fields', async () => {
    const before = await snapshot();
    const a = env.net.processors.get('bank-a')!;
    const c = await env.ctx.customer('bank-a', 10_00n);
    const m = await env.ctx.merchant('bank-a');
    const mid = await snapshot();
    expect(mid).not.toBe(before);

    await expectCode(raw(`${a.url}/v1/wallet/resolve`, '{"code":'), 400, 'MALFORMED_JSON');
    await expectCode(
      raw(`${a.url}/v1/wallet/enrol`, JSON.stringify({ x: 'y'.repeat(70_000) })),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    await expectCode(raw(`${a.url}/v1/wallet/enrol`, 'hello', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectCode(
      call('POST', `${a.url}/v1/wallet/resolve`, { body: { code: 'x' } }),
      401,
      'UNAUTHORIZED',
    );
    await expectCode(
      call('POST', `${a.url}/v1/admin/customers`, { body: {}, token: 'wrong-token-123' }),
      401,
      'UNAUTHORIZED',
    );
    await expectCode(
      call('POST', `${a.url}/v1/admin/customers`, {
        body: { phone: '12', name: '', currency: 'XXX' },
        token: a.adminToken,
      }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', `${a.url}/v1/admin/customers/${c.customerId}/deposits`, {
        body: { amount: '-5' },
        token: a.adminToken,
      }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', `${a.url}/v1/admin/customers/${c.customerId}/deposits`, {
        body: { amount: '1.5' },
        token: a.adminToken,
      }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', `${a.url}/v1/requests`, {
        token: m.apiKey,
        body: { currency: 'EUR', amount: { value: '0', currency: 'EUR' }, reference: 'x' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', `${a.url}/v1/requests`, {
        token: m.apiKey,
        body: { currency: 'EUR', amount: { value: '100', currency: 'USD' }, reference: 'x' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      call('POST', `${a.url}/v1/wallet/resolve`, { token: c.wallet.accessToken, body: { code: 'garbage' } }),
      400,
      'CODE_INVALID',
    );
    await expectCode(
      call('POST', `${a.url}/v1/wallet/resolve`, {
        token: c.wallet.accessToken,
        body: { code: '1010000001' },
      }),
      400,
      'CODE_INVALID',
    );
    await expectCode(
      call('POST', `${a.url}/v1/wallet/payments`, {
        token: c.wallet.accessToken,
        body: { approval: 'a.b.c' },
      }),
      400,
      'MESSAGE_MALFORMED',
    );
    await expectCode(
      call('GET', `${a.url}/v1/requests/req_nope`, { token: m.apiKey }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(call('GET', `${a.url}/v1/nowhere`), 404, 'NOT_FOUND');
    // An approval signed by a key that is not the device's.
    const req = await m.client.createRequest({
      currency: 'EUR',
      amount: { value: '100', currency: 'EUR' },
      reference: 'x',
    });
    const r = await c.wallet.resolve(req.qr);
    const stranger = await importSigningKey((await generateSigningKeys()).privateJwk);
    const good = JSON.parse(
      Buffer.from((await c.wallet.approval(r, '1234')).split('.')[1]!, 'base64url').toString(),
    ) as object;
    const forged = await signJson(good, stranger, c.wallet.deviceId, 'semops-approval+jws');
    await expectCode(
      call('POST', `${a.url}/v1/wallet/payments`, {
        token: c.wallet.accessToken,
        body: { approval: forged },
      }),
      401,
      'APPROVAL_INVALID',
    );
    // An expired approval.
    const expired = await c.wallet.approval(r, '1234', { expiresAt: Date.now() - 1000 });
    await expectCode(
      call('POST', `${a.url}/v1/wallet/payments`, {
        token: c.wallet.accessToken,
        body: { approval: expired },
      }),
      400,
      'APPROVAL_EXPIRED',
    );
    expect(await snapshot()).toBe(mid);
  });

  it('node messages: unsigned, wrongly signed, unknown sender, expired, replayed, malformed, oversized', async () => {
    const before = await snapshot();
    const hubUrl = env.net.hub.url;
    const b = env.net.processors.get('mno-b')!;
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: 'not a jws' })),
      400,
      'MESSAGE_MALFORMED',
    );
    await expectCode(raw(`${hubUrl}/v1/messages`, JSON.stringify({})), 400, 'MESSAGE_MALFORMED');
    // Node messages may carry batches up to MAX_MESSAGE_LENGTH; past it the body is refused unread.
    await expectCode(
      postDeclaringLength(`${hubUrl}/v1/messages`, MAX_MESSAGE_LENGTH + 2048),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: 'x'.repeat(70_000) })),
      400,
      'MESSAGE_MALFORMED',
    );
    // Unsigned (alg none) message.
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: 'bank-a', typ: MESSAGE_TYP })).toString(
      'base64url',
    );
    const payload = Buffer.from(JSON.stringify({ id: 'msg_x' })).toString('base64url');
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: `${header}.${payload}.` })),
      400,
      'MESSAGE_MALFORMED',
    );
    // Signed by a key that is not bank-a's.
    const mallory = { id: 'bank-a', key: await importSigningKey((await generateSigningKeys()).privateJwk) };
    const status = { transferIds: ['pay_01JDXK7ZQ40000000000000000'] };
    const forged = await sealMessage(mallory, 'hub', 'transfer.status', status);
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: forged.jws })),
      401,
      'SIGNATURE_INVALID',
    );
    const unknown = await sealMessage({ ...mallory, id: 'evil-pp' }, 'hub', 'transfer.status', status);
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: unknown.jws })),
      401,
      'UNKNOWN_SENDER',
    );
    // Messages a processor receives that did not come from the hub.
    const toPayee = await sealMessage(mallory, 'mno-b', 'transfer.notify', { events: [] });
    await expectCode(
      raw(`${b.url}/v1/messages`, JSON.stringify({ jws: toPayee.jws })),
      401,
      'SIGNATURE_INVALID',
    );
    // With bank-a's real key: an expired message, then a good one sent twice.
    const keyFile = JSON.parse(readFileSync(join(env.dir, 'bank-a', 'keys', 'keys.json'), 'utf8')) as {
      signing: { privateJwk: JWK };
    };
    const bankA = { id: 'bank-a', key: await importSigningKey(keyFile.signing.privateJwk) };
    const old = await sealMessage(bankA, 'hub', 'transfer.status', status, { now: Date.now() - 120_000 });
    await expectCode(raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: old.jws })), 400, 'MESSAGE_EXPIRED');
    const once = await sealMessage(bankA, 'hub', 'transfer.status', status);
    expect((await raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: once.jws }))).status).toBe(200);
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: once.jws })),
      409,
      'MESSAGE_REPLAYED',
    );
    const wrongBody = await sealMessage(bankA, 'hub', 'transfer.prepare', {
      transfers: [{ transferId: 'x' }],
    });
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: wrongBody.jws })),
      400,
      'VALIDATION_FAILED',
    );
    const toOther = await sealMessage(bankA, 'mno-b', 'transfer.status', status);
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: toOther.jws })),
      400,
      'WRONG_RECEIVER',
    );
    const unknownType = await sealMessage(bankA, 'hub', 'money.print', {});
    await expectCode(
      raw(`${hubUrl}/v1/messages`, JSON.stringify({ jws: unknownType.jws })),
      400,
      'UNKNOWN_MESSAGE_TYPE',
    );
    expect(await snapshot()).toBe(before);
  });
});
