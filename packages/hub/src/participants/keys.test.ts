import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSigningKeys,
  importSigningKey,
  publicPart,
  sealMessage,
  signKeyStatement,
  signingKeyId,
  type ErrorBody,
  type KeyStatement,
  type PublishedParticipant,
  type Signer,
} from '@semops/protocol';
import { startNetwork, type TestNetwork } from '../testing/network.js';
import { describeEngines } from '../testing/engines.js';

let net: TestNetwork;

interface NodeKey {
  readonly signer: Required<Signer>;
  readonly jwk: { kty: 'OKP'; crv: string; x: string };
}

async function newKey(node: string): Promise<NodeKey> {
  const k = await generateSigningKeys();
  return {
    signer: {
      id: node,
      key: await importSigningKey(k.privateJwk),
      kid: await signingKeyId(node, k.publicJwk),
    },
    jwk: publicPart(k.publicJwk) as NodeKey['jwk'],
  };
}

/** Posts a message to the hub; the result is read from the answer's payload (the hub's signature is tested elsewhere). */
async function post(signer: Signer, type: string, body: unknown) {
  const { jws } = await sealMessage(signer, 'hub', type, body);
  const r = await net.http<{ jws?: string } & Partial<ErrorBody>>('POST', '/v1/messages', { jws }, null);
  const payload = r.body.jws
    ? (JSON.parse(Buffer.from(r.body.jws.split('.')[1]!, 'base64url').toString()) as { body: unknown })
    : undefined;
  return {
    status: r.status,
    code: r.body.error?.code,
    message: r.body.error?.message,
    result: payload?.body,
  };
}

async function rotation(from: Required<Signer>, to: NodeKey, over: Partial<KeyStatement> = {}) {
  const s = {
    action: 'rotate',
    node: from.id,
    kid: to.signer.kid,
    key: to.jwk,
    previous: from.kid,
    overlapMs: 600_000,
    issuedAt: Date.now(),
    ...over,
  } as KeyStatement;
  return {
    statement: await signKeyStatement(s, from.key, from.kid),
    proof: await signKeyStatement(s, to.signer.key, to.signer.kid),
  };
}

const retirement = (by: Required<Signer>, kid: string, issuedAt = Date.now()) =>
  signKeyStatement({ action: 'retire', node: by.id, kid, issuedAt }, by.key, by.kid);

const status = { transferIds: ['pay_01JDXK7ZQ40000000000000000'] };

async function keysOf(id: string) {
  const r = await net.http<{ participants: PublishedParticipant[] }>(
    'GET',
    '/v1/participants',
    undefined,
    null,
  );
  return r.body.participants.find((p) => p.id === id)!.signingKeys!;
}

describeEngines('participant keys', (engine) => {
  let first: Required<Signer>;
  let second: NodeKey;
  beforeAll(async () => {
    net = await startNetwork(engine.options());
    first = {
      id: 'bank-a',
      key: net.a.signingKey,
      kid: await signingKeyId('bank-a', net.a.signing.publicJwk),
    };
    second = await newKey('bank-a');
  });
  afterAll(async () => {
    await net?.close();
  });

  describe('rotation by the processor', () => {
    it('refuses a rotation that is not signed by the current key and proven by the new one', async () => {
      const stranger = await newKey('bank-a');
      const good = await rotation(first, second);
      const other = await rotation(first, stranger);
      const cases: Array<[string, { statement: string; proof: string }, RegExp]> = [
        [
          'a proof by another key',
          { statement: good.statement, proof: other.proof },
          /proof must be signed by the new key/,
        ],
        [
          'a statement signed by a key the hub does not hold',
          await rotation(stranger.signer, second),
          /not a key the hub holds/,
        ],
        ['a stale statement', await rotation(first, second, { issuedAt: Date.now() - 3_600_000 }), /too old/],
        ['a statement about mno-b', await rotation(first, second, { node: 'mno-b' }), /about mno-b/],
        [
          'a key id that is not the thumbprint',
          await rotation(first, second, { kid: stranger.signer.kid }),
          /not its thumbprint/,
        ],
      ];
      for (const [why, body, message] of cases) {
        const r = await post(first, 'keys.rotate', body);
        expect([r.status, r.code], why).toEqual([422, 'KEY_ROTATION_INVALID']);
        expect(r.message, why).toMatch(message);
      }
      // mno-b cannot rotate bank-a's key with its own message, even with bank-a's statement inside.
      const b: Signer = { id: 'mno-b', key: net.b.signingKey };
      expect((await post(b, 'keys.rotate', good)).code).toBe('KEY_ROTATION_INVALID');
      expect((await keysOf('bank-a')).map((k) => k.kid)).toEqual([first.kid]);
      const audit = await net.http<{ entries: Array<{ actor: string; action: string; outcome: string }> }>(
        'GET',
        '/v1/admin/audit?limit=1000',
      );
      expect(
        audit.body.entries.filter((e) => e.action === 'keys.rotate').map((e) => `${e.actor} ${e.outcome}`),
      ).toEqual([...cases.map(() => 'node:bank-a KEY_ROTATION_INVALID'), 'node:mno-b KEY_ROTATION_INVALID']);
    });

    it('makes the new key current and keeps the old one for the overlap; a repeat changes nothing', async () => {
      const body = await rotation(first, second);
      const t = Date.now();
      const r = await post(first, 'keys.rotate', body);
      expect(r.status).toBe(200);
      const { previousUntil } = r.result as { kid: string; previousUntil: number };
      expect(r.result).toMatchObject({ kid: second.signer.kid });
      expect(previousUntil).toBeGreaterThanOrEqual(t + 600_000);
      expect(await keysOf('bank-a')).toMatchObject([
        { kid: second.signer.kid, key: second.jwk },
        { kid: first.kid, until: previousUntil },
      ]);
      // The node did not hear the answer and sends the same rotation again.
      expect((await post(first, 'keys.rotate', body)).result).toEqual(r.result);
      // Both keys sign for bank-a during the overlap; a bare `bank-a` names the current key.
      expect((await post(first, 'transfer.status', status)).status).toBe(200);
      expect((await post(second.signer, 'transfer.status', status)).status).toBe(200);
      expect((await post({ id: 'bank-a', key: second.signer.key }, 'transfer.status', status)).status).toBe(
        200,
      );
    });

    it('lets only the current key rotate again or retire: the replaced key cannot take the node back', async () => {
      const third = await newKey('bank-a');
      const byOld = await post(first, 'keys.rotate', await rotation(first, third));
      expect([byOld.code, byOld.message]).toEqual([
        'KEY_ROTATION_INVALID',
        `Only the current key ${second.signer.kid} may rotate bank-a's keys.`,
      ]);
      const retireByOld = await post(first, 'keys.retire', { statement: await retirement(first, first.kid) });
      expect(retireByOld.code).toBe('KEY_ROTATION_INVALID');
      const retireCurrent = await post(second.signer, 'keys.retire', {
        statement: await retirement(second.signer, second.signer.kid),
      });
      expect(retireCurrent.message).toMatch(/not an earlier key/);
      expect((await post(first, 'transfer.status', status)).status).toBe(200);
    });

    it('retires the replaced key: its messages are refused with KEY_RETIRED, and stay refused after a restart', async () => {
      const r = await post(second.signer, 'keys.retire', {
        statement: await retirement(second.signer, first.kid),
      });
      expect(r.status).toBe(200);
      const refused = await post(first, 'transfer.status', status);
      expect([refused.status, refused.code]).toEqual([401, 'KEY_RETIRED']);
      expect(refused.message).toContain(first.kid);
      // A rotation back to the retired key is refused: a node never goes back to a key.
      const back = await post(
        second.signer,
        'keys.rotate',
        await rotation(second.signer, {
          signer: first,
          jwk: publicPart(net.a.signing.publicJwk) as NodeKey['jwk'],
        }),
      );
      expect(back.message).toMatch(/registered before/);

      await net.restartHub();
      expect((await post(first, 'transfer.status', status)).code).toBe('KEY_RETIRED');
      expect((await post(second.signer, 'transfer.status', status)).status).toBe(200);
    });
  });

  describe("the hub operator's replacement", () => {
    it('replaces a key at once: every earlier key is refused from then on', async () => {
      const replacement = await newKey('bank-a');
      const body = { ...net.a.participant('101'), signingKey: replacement.jwk };
      expect((await net.http('PUT', '/v1/admin/participants/bank-a', body)).status).toBe(200);
      expect((await keysOf('bank-a')).map((k) => k.kid)).toEqual([
        replacement.signer.kid,
        second.signer.kid,
        first.kid,
      ]);
      expect((await post(second.signer, 'transfer.status', status)).code).toBe('KEY_RETIRED');
      expect((await post(replacement.signer, 'transfer.status', status)).status).toBe(200);
      // Registering a retired key again is refused.
      const again = await net.http<ErrorBody>('PUT', '/v1/admin/participants/bank-a', {
        ...body,
        signingKey: second.jwk,
      });
      expect([again.status, again.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });
});
