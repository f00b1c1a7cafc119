// The typed message edge between nodes: `registerMessageEndpoint` parses each body with its router and
// refuses senders it does not know, and `NodeClient.send` parses the answer with the sender's router.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SemopsError,
  generateSigningKeys,
  importSigningKey,
  publicPart,
  z,
  type Key,
  type MessageRouter,
} from '@semops/protocol';
import { createServer } from './http.js';
import { createNodeClient, registerMessageEndpoint, type NodeClient } from './messaging.js';

/** The messages the test's `bank-a` answers. */
const BANK = {
  'sum.of': {
    body: z.strictObject({ a: z.number().int(), b: z.number().int() }),
    result: z.strictObject({ sum: z.number().int() }),
  },
} as const satisfies MessageRouter;
/** What a sender built against another version believes `sum.of` answers. */
const SKEWED = {
  'sum.of': { body: BANK['sum.of'].body, result: z.strictObject({ total: z.number().int() }) },
} as const satisfies MessageRouter;

const keys = new Map<string, { sign: Key; verify: Key }>();
const app = createServer();
let url = '';
let handled = 0;
let from: Record<'hub' | 'mallory', NodeClient>;

beforeAll(async () => {
  for (const id of ['hub', 'bank-a', 'mallory']) {
    const k = await generateSigningKeys();
    keys.set(id, {
      sign: await importSigningKey(k.privateJwk),
      verify: await importSigningKey(publicPart(k.publicJwk)),
    });
  }
  const resolveKey = (id: string) => keys.get(id)?.verify;
  const seen = new Set<string>();
  registerMessageEndpoint(app, {
    signer: { id: 'bank-a', key: keys.get('bank-a')!.sign },
    resolveKey,
    replay: { remember: (id) => !seen.has(id) && Boolean(seen.add(id)) },
    router: BANK,
    senders: ['hub'],
    handlers: {
      'sum.of': async ({ a, b }) => {
        handled += 1;
        return { sum: a + b };
      },
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const client = (id: 'hub' | 'mallory') =>
    createNodeClient({ signer: { id, key: keys.get(id)!.sign }, resolveKey });
  from = { hub: client('hub'), mallory: client('mallory') };
});
afterAll(async () => {
  await Promise.all([from.hub.close(), from.mallory.close()]);
  await app.close();
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof SemopsError ? e.code : String(e)),
  );

describe('node messages', () => {
  it('hands the handler a parsed body and the sender a parsed answer', async () => {
    const answer = await from.hub.send(BANK, url, 'bank-a', 'sum.of', { a: 2, b: 40 });
    expect(answer).toEqual({ sum: 42 });
  });

  it('refuses a body that does not parse, a sender it does not take and a type it does not know, before any handler', async () => {
    const before = handled;
    const loose: MessageRouter = {
      'sum.of': { body: z.unknown(), result: z.unknown() },
      'sum.all': { body: z.unknown(), result: z.unknown() },
    };
    expect(await codeOf(from.hub.send(loose, url, 'bank-a', 'sum.of', { a: 2, b: 'forty' }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await codeOf(from.mallory.send(BANK, url, 'bank-a', 'sum.of', { a: 2, b: 40 }))).toBe('FORBIDDEN');
    expect(await codeOf(from.hub.send(loose, url, 'bank-a', 'sum.all', { a: 2 }))).toBe(
      'UNKNOWN_MESSAGE_TYPE',
    );
    expect(handled).toBe(before);
  });

  it('reports an answer that does not parse as MESSAGE_MALFORMED', async () => {
    expect(await codeOf(from.hub.send(SKEWED, url, 'bank-a', 'sum.of', { a: 1, b: 1 }))).toBe(
      'MESSAGE_MALFORMED',
    );
  });
});
