/**
 * Stand-ins for a hub or processor admin API in the CLI's unit tests: a real HTTP server on a free port that
 * checks the admin token, answers from a handler and records every request it was sent.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

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
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const r: StubRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        body: raw ? (JSON.parse(raw) as unknown) : undefined,
      };
      seen.push(r);
      const reply =
        r.authorization === `Bearer ${token}`
          ? (node.handler(r) ?? errorReply(404, 'NOT_FOUND'))
          : errorReply(401, 'UNAUTHORIZED');
      if (reply.text !== undefined) {
        res.writeHead(reply.status ?? 200, { 'content-type': 'text/csv' });
        res.end(reply.text);
        return;
      }
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const node: StubNode = {
    url: `http://127.0.0.1:${port}`,
    token,
    seen,
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
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
