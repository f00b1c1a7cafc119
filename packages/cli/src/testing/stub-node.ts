/**
 * Stand-ins for a hub or processor admin API in the CLI's unit tests: a real HTTP server (the nodes' Fastify
 * edge) on a free loopback port that checks the admin token, answers from a handler and records every request
 * it was sent.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from '@semops/node';
import { listenLoopback } from '../edge.js';

export interface StubRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

/** What the stand-in answers: JSON `body` (default status 200), or `text` (CSV). */
export interface StubReply {
  readonly status?: number;
  readonly body?: unknown;
  readonly text?: string;
}

/** Answers a request, or undefined for 404 NOT_FOUND. */
export type StubHandler = (req: StubRequest) => StubReply | undefined;

export interface StubNode {
  readonly url: string;
  readonly token: string;
  /** Every request received, in order (also those refused for a wrong token). */
  readonly seen: StubRequest[];
  handler: StubHandler;
  close(): Promise<void>;
}

/** An error body as SEMOPS nodes send it. */
export function errorReply(status: number, code: string, message = code): StubReply {
  return { status, body: { error: { code, message } } };
}

export async function startStubNode(token: string, handler: StubHandler): Promise<StubNode> {
  const seen: StubRequest[] = [];
  const app = createServer();
  app.all('/*', async (req, reply) => {
    const url = new URL(req.url, 'http://stub');
    const r: StubRequest = {
      method: req.method,
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      body: req.body ?? undefined,
    };
    seen.push(r);
    const answer =
      r.authorization === `Bearer ${token}`
        ? (node.handler(r) ?? errorReply(404, 'NOT_FOUND'))
        : errorReply(401, 'UNAUTHORIZED');
    void reply.code(answer.status ?? 200);
    if (answer.text !== undefined) return reply.type('text/csv').send(answer.text);
    return reply.type('application/json').send(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  const server = await listenLoopback(app);
  const node: StubNode = {
    url: server.url,
    token,
    seen,
    handler,
    close: () => server.close(),
  };
  return node;
}

/** Writes a demo directory (`node.json` and admin token per node) pointing at the given nodes. */
export function writeDemoDir(dir: string, nodes: Record<string, { url: string; token: string }>): void {
  for (const [id, n] of Object.entries(nodes)) {
    mkdirSync(join(dir, id, 'secrets'), { recursive: true });
    writeFileSync(join(dir, id, 'node.json'), JSON.stringify({ event: 'ready', id, url: n.url, pid: 1 }));
    writeFileSync(join(dir, id, 'secrets', 'admin-token.secret'), `${n.token}\n`);
  }
}
