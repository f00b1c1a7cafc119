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

describe('request.lookups', () => {
  it('asks each payee once for its refs, and answers every ref in order, errors included', async () => {
    const ok = { processorId: 'mno-b', requestId: newId('req') };
    const byCode = { shortCode: '2024567890' };
    const nobody = { shortCode: '9994567890' };
    const before = net.b.lookups.length;
    const answer = (await net.a.send('request.lookups', { refs: [ok, nobody, byCode] })) as {
      results: Array<{ sealed?: string; error?: { code: string } }>;
    };
    // One message to mno-b for both of its refs, with the requester set by the hub.
    expect(net.b.lookups.slice(before)).toEqual([{ refs: [ok, byCode], requester: 'bank-a' }]);
    expect(answer.results).toHaveLength(3);
    expect(await decryptJson(answer.results[0]!.sealed!, net.a.encryptionPrivateKey)).toEqual({
      token: 'token-from-mno-b',
    });
    expect(answer.results[1]).toEqual({
      error: { code: 'REQUEST_NOT_FOUND', message: 'No processor uses the routing prefix of this code.' },
    });
    expect(await decryptJson(answer.results[2]!.sealed!, net.a.encryptionPrivateKey)).toEqual({
      token: 'token-from-mno-b',
    });
  });

  it('gives each ref of a payee that is down PARTICIPANT_UNREACHABLE, and refuses bad batches whole', async () => {
    const down = { ...net.b.participant('202'), baseUrl: 'http://127.0.0.1:9' };
    await net.http('PUT', '/v1/admin/participants/mno-b', down);
    const answer = (await net.a.send('request.lookups', {
      refs: [{ processorId: 'mno-b', requestId: newId('req') }, { shortCode: '2024567890' }],
    })) as { results: Array<{ error?: { code: string } }> };
    expect(answer.results.map((r) => r.error?.code)).toEqual([
      'PARTICIPANT_UNREACHABLE',
      'PARTICIPANT_UNREACHABLE',
    ]);
    await net.http('PUT', '/v1/admin/participants/mno-b', net.b.participant('202'));
    const codeOf = (body: unknown) =>
      net.a.send('request.lookups', body).then(
        () => 'ok',
        (e: unknown) => (e instanceof SemopsError ? e.code : String(e)),
      );
    expect(await codeOf({ refs: [] })).toBe('VALIDATION_FAILED');
    expect(await codeOf({ refs: Array.from({ length: 101 }, () => ({ shortCode: '2024567890' })) })).toBe(
      'VALIDATION_FAILED',
    );
  });
});
