import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SemopsError, decryptJson, newId } from '@semops/protocol';
import { startNetwork, type TestNetwork } from '../testing/network.js';

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork();
});
afterAll(async () => {
  await net.close();
});

describe('request.lookup', () => {
  it('routes by processor id, adds the requester, and relays the sealed answer unchanged', async () => {
    const ref = { processorId: 'mno-b', requestId: newId('req') };
    const answer = (await net.a.send('request.lookup', { ref, requester: 'someone-else' })) as {
      sealed: string;
    };
    expect(net.b.lookups.at(-1)).toEqual({ ref, requester: 'bank-a' });
    expect(await decryptJson(answer.sealed, net.a.encryptionPrivateKey)).toEqual({
      token: 'token-from-mno-b',
    });
  });

  it('routes a short code by its routing prefix', async () => {
    const answer = (await net.b.send('request.lookup', { ref: { shortCode: '1014567890' } })) as {
      sealed: string;
    };
    expect(net.a.lookups.at(-1)).toEqual({ ref: { shortCode: '1014567890' }, requester: 'mno-b' });
    expect(await decryptJson(answer.sealed, net.b.encryptionPrivateKey)).toEqual({
      token: 'token-from-bank-a',
    });
  });

  it('answers PARTICIPANT_NOT_FOUND or REQUEST_NOT_FOUND when nothing matches, and passes the payee errors on', async () => {
    const codeOf = (body: unknown) =>
      net.a.send('request.lookup', body).then(
        () => 'ok',
        (e: unknown) => (e instanceof SemopsError ? e.code : String(e)),
      );
    expect(await codeOf({ ref: { processorId: 'bank-z', requestId: newId('req') } })).toBe(
      'PARTICIPANT_NOT_FOUND',
    );
    expect(await codeOf({ ref: { shortCode: '9994567890' } })).toBe('REQUEST_NOT_FOUND');
    expect(await codeOf({ ref: { shortCode: '12345' } })).toBe('VALIDATION_FAILED');
    net.b.lookupError = 'REQUEST_EXPIRED';
    expect(await codeOf({ ref: { shortCode: '2024567890' } })).toBe('REQUEST_EXPIRED');
    net.b.lookupError = undefined;
  });

  it('answers PARTICIPANT_UNREACHABLE when the payee is down', async () => {
    const down = { ...net.b.participant('202'), baseUrl: 'http://127.0.0.1:9' };
    await net.http('PUT', '/v1/admin/participants/mno-b', down);
    const err = await net.a
      .send('request.lookup', { ref: { processorId: 'mno-b', requestId: newId('req') } })
      .catch((e: unknown) => e);
    expect((err as SemopsError).code).toBe('PARTICIPANT_UNREACHABLE');
    await net.http('PUT', '/v1/admin/participants/mno-b', net.b.participant('202'));
  });
});
