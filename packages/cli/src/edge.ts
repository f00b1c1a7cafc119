/**
 * The HTTP edge of the CLI's own small servers (the example shop, the phone simulator, a scenario's webhook
 * receiver, the stand-in nodes of the unit tests): the nodes' Fastify server from @semops/node, so every
 * failure is answered as `{ error: { code, message } }` from the protocol's one error table, listening on a
 * loopback address.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { createServer } from '@semops/node';

export type LoopbackHost = '127.0.0.1' | 'localhost' | '::1';

export interface LoopbackServer {
  /** `http://<host>:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections (server-sent event streams included). */
  close(): Promise<void>;
}

/**
 * Starts `app` on a loopback address, on `port` or (0) any free one.
 * @example
 *   const app = createServer();
 *   app.get('/hello', () => ({ hello: 'world' }));
 *   const server = await listenLoopback(app);
 *   console.log(`${server.url}/hello`);
 */
export async function listenLoopback(
  app: FastifyInstance,
  port = 0,
  host: LoopbackHost = '127.0.0.1',
): Promise<LoopbackServer> {
  await app.listen({ host, port });
  const address = app.server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host === '::1' ? '[::1]' : host}:${actual}`,
    port: actual,
    async close() {
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
    },
  };
}

/** One call a {@link startReceiver} got: its headers and its body exactly as sent. */
export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A receiver on a free loopback port that answers every call with 204 and keeps its raw body (to check a
 * webhook's signature over the bytes as sent).
 * @example
 *   const hooks = await startReceiver();
 *   const hookUrl = `${hooks.url}/semops`; // … later: hooks.received[0].body
 */
export async function startReceiver(): Promise<LoopbackServer & { readonly received: Received[] }> {
  const received: Received[] = [];
  const app = createServer();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.all('/*', (req, reply) => {
    received.push({
      method: req.method,
      path: req.url.split('?')[0]!,
      headers: req.headers,
      body: typeof req.body === 'string' ? req.body : '',
    });
    return reply.code(204).send();
  });
  return { ...(await listenLoopback(app)), received };
}
