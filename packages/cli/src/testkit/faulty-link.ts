/**
 * A faulty network link in front of a node, for simulation tests: every signed node message (`POST
 * /v1/messages`) that goes through it is passed on, delivered twice, held back (so later ones overtake it),
 * lost on the way, or delivered with its answer lost on the way back — as `decide` says. Anything else (key
 * registry, info) passes untouched.
 *
 * @example
 * const link = await startFaultyLink(hub.url, () => 'lose-answer');
 * // register the link's url as where the hub is reached
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'pass' | 'duplicate' | 'delay' | 'lose' | 'lose-answer';

export interface FaultyLink {
  readonly url: string;
  /** How many messages met each fault so far. */
  readonly count: Record<Fault, number>;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Starts a link to `target` (a node's base URL) on a free loopback port. */
export async function startFaultyLink(
  target: string,
  decide: () => Fault,
  opts: { delayMs?: number } = {},
): Promise<FaultyLink> {
  const count: Record<Fault, number> = { pass: 0, duplicate: 0, delay: 0, lose: 0, 'lose-answer': 0 };
  const forward = async (req: IncomingMessage, body: Buffer) => {
    const res = await fetch(`${target}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      ...(body.length > 0 ? { body: new Uint8Array(body) } : {}),
    });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: Buffer.from(await res.arrayBuffer()),
    };
  };
  const answer = (res: ServerResponse, a: Awaited<ReturnType<typeof forward>>) => {
    res.writeHead(a.status, a.type ? { 'content-type': a.type } : {});
    res.end(a.body);
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const fault = req.method === 'POST' && req.url === '/v1/messages' ? decide() : 'pass';
      count[fault] += 1;
      try {
        switch (fault) {
          case 'pass':
            return answer(res, await forward(req, body));
          case 'duplicate': {
            const first = await forward(req, body);
            await forward(req, body);
            return answer(res, first);
          }
          case 'delay':
            await new Promise((r) => setTimeout(r, opts.delayMs ?? 150));
            return answer(res, await forward(req, body));
          case 'lose':
            return res.destroy();
          case 'lose-answer':
            await forward(req, body);
            return res.destroy();
        }
      } catch {
        res.destroy(); // the node behind is down: so is the link
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
