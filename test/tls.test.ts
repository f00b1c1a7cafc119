import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '@semops/hub';
import { createProcessor, type ProcessorNode } from '@semops/processor';
import {
  createNodeClient,
  makeSelfSignedCertificate,
  openKeyring,
  staticPins,
  type NodeClient,
  type ServerTls,
} from '@semops/node';
import { HUB_MESSAGES, SemopsError, importSigningKey, type PublishedParticipant } from '@semops/protocol';

/**
 * Hub ↔ processor links over TLS with pinned self-signed certificates, made at test time: the hub reaches a
 * processor only through the certificate its directory pins, a processor reaches the hub only through the
 * certificate its configuration pins, and a link to a peer showing another certificate is refused with
 * PEER_CERTIFICATE_MISMATCH before anything is sent.
 */
describe('TLS between the hub and processors, with pinned certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'semops-tls-net-'));
  const certs = {} as Record<'hub' | 'bank-a' | 'mno-b' | 'bank-c' | 'impostor', ServerTls>;
  let hub: Hub;
  const nodes = new Map<string, ProcessorNode>();
  /** bank-a's own signed messages to the hub (its key file), over the pinned link. */
  let bankA: NodeClient;

  const inject = async <T>(
    app: Hub['app'],
    method: 'GET' | 'PUT' | 'POST',
    url: string,
    token?: string,
    body?: unknown,
  ) => {
    const r = await app.inject({
      method,
      url,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return { status: r.statusCode, body: JSON.parse(r.body) as T };
  };
  const start = (id: string, prefix: string, hubPin: string) =>
    createProcessor({
      id,
      name: id,
      kind: 'bank',
      currencies: ['EUR'],
      routingPrefix: prefix,
      country: 'AT',
      dataDir: join(dir, id),
      databaseUrl: join(dir, id, `${id}.db`),
      hubUrl: hub.url,
      tls: certs[id as 'bank-a'],
      hubCertSha256: hubPin,
      reconcileIntervalMs: 60_000,
    });
  /** The hub operator registers a processor with the fingerprint of its certificate. */
  const register = async (node: ProcessorNode, fingerprint: string) => {
    const info = await inject<Record<string, unknown>>(node.app, 'GET', '/v1/info');
    const { id, name, kind, currencies, routingPrefix, signingKey, encryptionKey } = info.body;
    const body = { id, name, kind, currencies, routingPrefix, signingKey, encryptionKey };
    const r = await inject(hub.app, 'PUT', `/v1/admin/participants/${node.id}`, hub.adminToken, {
      ...body,
      baseUrl: node.url,
      tlsCertSha256: fingerprint,
    });
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  };
  const participant = async (id: string) =>
    (
      await inject<{ participants: PublishedParticipant[] }>(hub.app, 'GET', '/v1/participants')
    ).body.participants.find((p) => p.id === id)!;

  beforeAll(async () => {
    for (const name of ['hub', 'bank-a', 'mno-b', 'bank-c', 'impostor'] as const) {
      certs[name] = makeSelfSignedCertificate(dir, name);
    }
    hub = await createHub({
      dataDir: join(dir, 'hub'),
      databaseUrl: join(dir, 'hub', 'hub.db'),
      adminToken: 'test-admin-token-123',
      tls: certs.hub,
    });
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const [id, prefix] of [
      ['bank-a', '101'],
      ['mno-b', '202'],
    ] as const) {
      const node = await start(id, prefix, certs.hub.fingerprint);
      expect(node.url).toMatch(/^https:/);
      nodes.set(id, node);
      await register(node, certs[id].fingerprint);
    }
    const keys = await openKeyring(join(dir, 'bank-a', 'keys'), 'bank-a');
    const pins = staticPins({ [hub.url]: certs.hub.fingerprint });
    const probe = createNodeClient({ signer: keys.signer, resolveKey: () => undefined, tls: pins });
    const hubInfo = (await probe.getJson(`${hub.url}/v1/info`)) as {
      signingKey: { kty: 'OKP'; crv: string; x: string };
    };
    await probe.close();
    const hubKey = await importSigningKey(hubInfo.signingKey);
    bankA = createNodeClient({ signer: keys.signer, resolveKey: () => hubKey, tls: pins });
  }, 60_000);
  afterAll(async () => {
    await bankA?.close();
    for (const n of nodes.values()) await n.close();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** mno-b's payment request, looked up by bank-a through the hub: bank-a → hub → mno-b and back. */
  const lookUp = async () => {
    const b = nodes.get('mno-b')!;
    const m = await inject<{ apiKey: string }>(b.app, 'POST', '/v1/admin/merchants', b.adminToken, {
      name: 'Pinned Café',
      city: 'Wien',
      category: '5812',
      currency: 'EUR',
    });
    const r = await inject<{ id: string }>(b.app, 'POST', '/v1/requests', m.body.apiKey, {
      currency: 'EUR',
      amount: { value: '420', currency: 'EUR' },
      reference: 'tls-1',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return bankA.send(HUB_MESSAGES, hub.url, 'hub', 'request.lookup', {
      ref: { processorId: 'mno-b', requestId: r.body.id },
    });
  };

  it('carries messages both ways over the pinned links', async () => {
    // bank-a → hub → mno-b: the hub reaches mno-b through the certificate its directory pins.
    const answer = await lookUp();
    expect(answer.sealed).toMatch(/^[\w-]*\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/);
    // A processor's own link to the hub (its configuration pins the hub's certificate): a key rotation.
    const a = nodes.get('bank-a')!;
    const rotated = await inject<{ current: string }>(
      a.app,
      'POST',
      '/v1/admin/keys/rotate',
      a.adminToken,
      {},
    );
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect((await participant('bank-a')).signingKeys?.[0]?.kid).toBe(rotated.body.current);
  });

  it('refuses a processor that shows another certificate than the directory pins', async () => {
    // The hub operator pinned another certificate for mno-b (or mno-b's address now answers with one).
    await register(nodes.get('mno-b')!, certs.impostor.fingerprint);
    const refused = await lookUp().then(
      () => 'OK',
      (e: unknown) => (e instanceof SemopsError ? `${e.code}: ${e.message}` : String(e)),
    );
    expect(refused).toMatch(
      /^PEER_CERTIFICATE_MISMATCH: https:\/\/127\.0\.0\.1:\d+ presented the certificate/,
    );
    expect(refused).toContain(`not the pinned ${certs.impostor.fingerprint}`);
    await register(nodes.get('mno-b')!, certs['mno-b'].fingerprint);
    expect((await lookUp()).sealed).toBeTruthy();
  });

  it('refuses a hub that shows another certificate than the processor pins: nothing is sent', async () => {
    const c = await start('bank-c', '303', certs.impostor.fingerprint);
    nodes.set('bank-c', c);
    await register(c, certs['bank-c'].fingerprint);
    const before = (await participant('bank-c')).signingKeys;
    const r = await inject<{ error: { code: string; message: string } }>(
      c.app,
      'POST',
      '/v1/admin/keys/rotate',
      c.adminToken,
      {},
    );
    expect([r.status, r.body.error.code]).toEqual([502, 'PEER_CERTIFICATE_MISMATCH']);
    expect(r.body.error.message).toContain(hub.url);
    // Neither the hub nor bank-c changed its keys.
    expect((await participant('bank-c')).signingKeys).toEqual(before);
    const keys = await inject<{ current: string }>(c.app, 'GET', '/v1/admin/keys', c.adminToken);
    expect(keys.body.current).toBe(before?.[0]?.kid);
  });
});
