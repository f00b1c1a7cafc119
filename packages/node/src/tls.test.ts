import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SemopsError, generateSigningKeys, importSigningKey, z } from '@semops/protocol';
import { createServer } from './http.js';
import { createNodeClient } from './messaging.js';
import { makeSelfSignedCertificate, staticPins, type ServerTls } from './tls.js';

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof SemopsError ? e.code : String(e)),
  );

describe('TLS between nodes with pinned certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'semops-tls-'));
  let genuine: ServerTls;
  let impostor: ServerTls;
  const servers: FastifyInstance[] = [];
  let requests = 0;
  let url: string;
  let impostorUrl: string;

  const serve = async (tls: ServerTls) => {
    const app = createServer({ https: tls });
    app.get('/v1/info', async () => {
      requests += 1;
      return { id: 'hub' };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    servers.push(app);
    const address = app.server.address();
    return `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  };
  const client = async (pins: Record<string, string>) =>
    createNodeClient({
      signer: { id: 'bank-a', key: await importSigningKey((await generateSigningKeys()).privateJwk) },
      resolveKey: () => undefined,
      tls: staticPins(pins),
      timeoutMs: 5_000,
    });

  beforeAll(async () => {
    genuine = makeSelfSignedCertificate(dir, 'hub');
    impostor = makeSelfSignedCertificate(dir, 'impostor');
    url = await serve(genuine);
    impostorUrl = await serve(impostor);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('talks to a peer that shows the pinned certificate, self-signed or not', async () => {
    expect(genuine.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // The pin as `openssl x509 -fingerprint -sha256` prints it (colons, upper case) works too.
    const printed = genuine.fingerprint.toUpperCase().replace(/(..)(?!$)/g, '$1:');
    const c = await client({ [url]: printed });
    expect(await c.getJson(`${url}/v1/info`)).toEqual({ id: 'hub' });
    await c.close();
  });

  it('refuses a peer with another certificate before sending anything', async () => {
    const before = requests;
    // The impostor at the pinned peer's place (a hijacked address or DNS name): its certificate is not the pin.
    const c = await client({ [url]: impostor.fingerprint, [impostorUrl]: genuine.fingerprint });
    expect(await codeOf(c.getJson(`${url}/v1/info`))).toBe('PEER_CERTIFICATE_MISMATCH');
    expect(await codeOf(c.getJson(`${impostorUrl}/v1/info`))).toBe('PEER_CERTIFICATE_MISMATCH');
    const router = { ping: { body: z.object({}), result: z.object({}) } };
    const sent = c.send(router, impostorUrl, 'hub', 'ping', {});
    await expect(sent).rejects.toMatchObject({
      code: 'PEER_CERTIFICATE_MISMATCH',
      message: expect.stringContaining(`not the pinned ${genuine.fingerprint}`) as string,
    });
    expect(requests).toBe(before);
    await c.close();
  });

  it('a change of pin applies to connections already open', async () => {
    const pins: Record<string, string> = { [new URL(url).origin]: genuine.fingerprint };
    const c = createNodeClient({
      signer: { id: 'hub', key: await importSigningKey((await generateSigningKeys()).privateJwk) },
      resolveKey: () => undefined,
      tls: { pinFor: (origin) => pins[origin] },
    });
    expect(await c.getJson(`${url}/v1/info`)).toEqual({ id: 'hub' });
    // The operator re-pins the peer (its certificate leaked): the kept-alive connection is not used again.
    pins[new URL(url).origin] = impostor.fingerprint;
    expect(await codeOf(c.getJson(`${url}/v1/info`))).toBe('PEER_CERTIFICATE_MISMATCH');
    await c.close();
  });

  it('without a pin, checks the certificate against the system CAs: a self-signed one is refused', async () => {
    const before = requests;
    const c = await client({});
    expect(await codeOf(c.getJson(`${url}/v1/info`))).toBe('PARTICIPANT_UNREACHABLE');
    expect(requests).toBe(before);
    await c.close();
  });
});
