import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MESSAGE_TYP,
  generateSigningKeys,
  importSigningKey,
  MAX_MESSAGE_LENGTH,
  newId,
  sealMessage,
  signJson,
  type ErrorBody,
  type Signer,
} from '@semops/protocol';
import { postDeclaringLength } from './testing/http.js';
import { startNetwork, type TestNetwork } from './testing/network.js';

let net: TestNetwork;
let bankA: Signer;
beforeAll(async () => {
  net = await startNetwork();
  await net.deposit('bank-a', '10000');
  bankA = { id: 'bank-a', key: net.a.signingKey };
});
afterAll(async () => {
  await net.close();
});

async function post(
  body: string,
  contentType = 'application/json',
): Promise<{ status: number; body: ErrorBody }> {
  const res = await fetch(`${net.hub.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  return { status: res.status, body: (await res.json()) as ErrorBody };
}
const postJws = (jws: string) => post(JSON.stringify({ jws }));

describe('POST /v1/messages refuses bad messages with a stable code and changes nothing', () => {
  it('refuses every kind of bad envelope', async () => {
    const before = await net.position('bank-a');
    const t = net.transfer();
    const body = { transfers: [t] };
    const stranger = await generateSigningKeys();
    const strangerKey = await importSigningKey(stranger.privateJwk);
    const now = Date.now();
    const cases: Array<[string, Promise<{ status: number; body: ErrorBody }>, number, string]> = [
      ['not JSON', post('{"jws":'), 400, 'MALFORMED_JSON'],
      ['not JSON content', post('jws=abc', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['no jws', post('{}'), 400, 'MESSAGE_MALFORMED'],
      ['unsigned', postJws('eyJhbGciOiJub25lIn0.eyJ9.'), 400, 'MESSAGE_MALFORMED'],
      [
        'unknown sender',
        sealMessage({ id: 'bank-z', key: strangerKey }, 'hub', 'transfer.prepare', body).then((m) =>
          postJws(m.jws),
        ),
        401,
        'UNKNOWN_SENDER',
      ],
      [
        'signed with another key',
        sealMessage({ id: 'bank-a', key: strangerKey }, 'hub', 'transfer.prepare', body).then((m) =>
          postJws(m.jws),
        ),
        401,
        'SIGNATURE_INVALID',
      ],
      [
        'expired',
        sealMessage(bankA, 'hub', 'transfer.prepare', body, { now: now - 120_000 }).then((m) =>
          postJws(m.jws),
        ),
        400,
        'MESSAGE_EXPIRED',
      ],
      [
        'from the future',
        sealMessage(bankA, 'hub', 'transfer.prepare', body, { now: now + 120_000 }).then((m) =>
          postJws(m.jws),
        ),
        400,
        'MESSAGE_FROM_FUTURE',
      ],
      [
        'to another node',
        sealMessage(bankA, 'mno-b', 'transfer.prepare', body).then((m) => postJws(m.jws)),
        400,
        'WRONG_RECEIVER',
      ],
      [
        'lifetime too long',
        sealMessage(bankA, 'hub', 'transfer.prepare', body, { ttlMs: 3_600_000 }).then((m) => postJws(m.jws)),
        400,
        'MESSAGE_MALFORMED',
      ],
      [
        'not an envelope',
        signJson({ hello: 'world' }, net.a.signingKey, 'bank-a', MESSAGE_TYP).then(postJws),
        400,
        'MESSAGE_MALFORMED',
      ],
      [
        'body not valid for its type',
        sealMessage(bankA, 'hub', 'transfer.prepare', {
          transfers: [{ ...t, amount: { value: '-1', currency: 'EUR' } }],
        }).then((m) => postJws(m.jws)),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'unknown type',
        sealMessage(bankA, 'hub', 'transfer.steal', body).then((m) => postJws(m.jws)),
        400,
        'UNKNOWN_MESSAGE_TYPE',
      ],
      [
        'a type the hub does not take',
        sealMessage(bankA, 'hub', 'transfer.notify', {
          events: [{ transferId: t.transferId, state: 'COMMITTED' }],
        }).then((m) => postJws(m.jws)),
        400,
        'UNKNOWN_MESSAGE_TYPE',
      ],
      [
        'oversized',
        postDeclaringLength(`${net.hub.url}/v1/messages`, MAX_MESSAGE_LENGTH + 2048),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['larger than a JWS', post(JSON.stringify({ jws: 'a'.repeat(65 * 1024) })), 400, 'MESSAGE_MALFORMED'],
    ];
    for (const [name, p, status, code] of cases) {
      const r = await p;
      expect([name, r.status, r.body.error.code]).toEqual([name, status, code]);
    }
    expect(await net.position('bank-a')).toEqual(before);
    expect(net.b.prepares).toEqual([]);
    const rec = await net.http<ErrorBody>('GET', `/v1/admin/transfers/${t.transferId}`);
    expect(rec.body.error.code).toBe('TRANSFER_NOT_FOUND');
  });

  it('accepts a message once: a replay is refused and moves nothing', async () => {
    const t = net.transfer();
    const { jws } = await sealMessage(bankA, 'hub', 'transfer.prepare', { transfers: [t] });
    const first = await fetch(`${net.hub.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jws }),
    });
    expect(first.status).toBe(200);
    const after = await net.position('bank-a');
    const replay = await postJws(jws);
    expect([replay.status, replay.body.error.code]).toEqual([409, 'MESSAGE_REPLAYED']);
    expect(await net.position('bank-a')).toEqual(after);
    expect(net.b.prepares.filter((g) => g.some((x) => x.transferId === t.transferId))).toHaveLength(1);
  });

  it('answers with an envelope signed by the hub and addressed to the sender', async () => {
    const id = newId('pay');
    const result = await net.a.send('transfer.status', { transferIds: [id] });
    expect(result).toEqual({ transfers: [{ transferId: id, state: 'UNKNOWN' }] });
  });
});
