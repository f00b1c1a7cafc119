import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeys, publicPart, type ErrorBody, type Participant } from '@semops/protocol';
import { startNetwork, type TestNetwork } from '../testing/network.js';
import { describeEngines } from '../testing/engines.js';

let net: TestNetwork;

describeEngines('participants', (engine) => {
  beforeAll(async () => {
    net = await startNetwork(engine.options());
  });
  afterAll(async () => {
    await net?.close();
  });

  describe('participant registry', () => {
    it('lists registered processors with their public keys, and publishes the hub key', async () => {
      const list = await net.http<{ participants: Participant[] }>(
        'GET',
        '/v1/participants',
        undefined,
        null,
      );
      expect(list.status).toBe(200);
      expect(list.body.participants.map((p) => [p.id, p.routingPrefix, p.baseUrl])).toEqual([
        ['bank-a', '101', net.a.url],
        ['mno-b', '202', net.b.url],
      ]);
      expect(list.body.participants[0]!.signingKey).toEqual(publicPart(net.a.signing.publicJwk));
      expect(JSON.stringify(list.body)).not.toContain('"d"');

      const info = await net.http<{
        id: string;
        signingKey: { kty: string; crv: string; x: string; d?: string };
      }>('GET', '/v1/info', undefined, null);
      expect(info.body.id).toBe('hub');
      expect(info.body.signingKey).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
      expect(info.body.signingKey.d).toBeUndefined();
    });

    it('updates a participant in place and opens accounts for a new currency', async () => {
      const updated = { ...net.a.participant('101', ['EUR', 'USD']), name: 'Bank A AG' };
      const r = await net.http<Participant>('PUT', '/v1/admin/participants/bank-a', updated);
      expect(r.status).toBe(200);
      expect(r.body.name).toBe('Bank A AG');
      const list = await net.http<{ participants: Participant[] }>(
        'GET',
        '/v1/participants',
        undefined,
        null,
      );
      expect(list.body.participants.find((p) => p.id === 'bank-a')?.currencies).toEqual(['EUR', 'USD']);
      expect(await net.position('bank-a', 'USD')).toMatchObject({ liquidity: '0', available: '0' });
    });

    it('requires the admin token', async () => {
      const body = net.a.participant('101');
      for (const token of [null, 'wrong-token-123456']) {
        const r = await net.http<ErrorBody>('PUT', '/v1/admin/participants/bank-a', body, token);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('UNAUTHORIZED');
      }
      for (const [method, path] of [
        ['GET', '/v1/admin/positions'],
        ['POST', '/v1/admin/liquidity'],
        ['GET', '/v1/admin/transfers/pay_01JDXK7ZQ4AAAAAAAAAAAAAAAA'],
      ] as const) {
        const r = await net.http<ErrorBody>(method, path, method === 'POST' ? {} : undefined, null);
        expect(r.status).toBe(401);
      }
    });

    it('refuses bad registrations without changing anything', async () => {
      const cases: Array<[string, unknown]> = [
        ['/v1/admin/participants/bank-c', net.a.participant('101')], // path id ≠ body id
        ['/v1/admin/participants/bank-c', { ...net.a.participant('101'), id: 'bank-c' }], // prefix taken
        ['/v1/admin/participants/hub', { ...net.a.participant('303'), id: 'hub' }], // reserved id
        ['/v1/admin/participants/bank-c', { ...net.a.participant('303'), id: 'bank-c', currencies: ['XXX'] }],
        [
          '/v1/admin/participants/bank-c',
          { ...net.a.participant('303'), id: 'bank-c', signingKey: net.a.participant('1').encryptionKey },
        ],
        ['/v1/admin/participants/bank-c', { ...net.a.participant('303'), id: 'bank-c', extra: 1 }],
        ['/v1/admin/participants/Bank_C', { ...net.a.participant('303'), id: 'Bank_C' }],
        // A certificate pin on a plain-http link would pin nothing.
        [
          '/v1/admin/participants/bank-c',
          { ...net.a.participant('303'), id: 'bank-c', tlsCertSha256: 'ab'.repeat(32) },
        ],
        [
          '/v1/admin/participants/bank-c',
          { ...net.a.participant('303'), id: 'bank-c', tlsCertSha256: 'not-hex' },
        ],
      ];
      for (const [path, body] of cases) {
        const r = await net.http<ErrorBody>('PUT', path, body);
        expect(r.status, path).toBe(400);
        expect(r.body.error.code).toBe('VALIDATION_FAILED');
      }
      const list = await net.http<{ participants: Participant[] }>(
        'GET',
        '/v1/participants',
        undefined,
        null,
      );
      expect(list.body.participants.map((p) => p.id)).toEqual(['bank-a', 'mno-b']);
    });

    it('registers a third processor with fresh keys', async () => {
      const keys = await generateSigningKeys();
      const c = {
        ...net.a.participant('303'),
        id: 'bank-c',
        signingKey: publicPart(keys.publicJwk) as Participant['signingKey'],
      };
      const r = await net.http('PUT', '/v1/admin/participants/bank-c', c);
      expect(r.status).toBe(201);
      expect(await net.position('bank-c')).toEqual({
        processorId: 'bank-c',
        currency: 'EUR',
        liquidity: '0',
        position: '0',
        reserved: '0',
        available: '0',
      });
    });
  });
});
