/**
 * The phone simulator of `semops demo`: a small Fastify server (the nodes' HTTP edge, from @semops/node) on
 * the loopback interface that serves the simulator page (`packages/web`, `/app/simulator.html`) and plays
 * the operator's SMS and USSD gateways for it. The page types as a feature phone would; the server delivers
 * to the processor of that number with the gateway secret, which never reaches the browser.
 *
 *   GET  /api/phones                  { serviceCode, smsNumber, processors, phones }: the demo numbers
 *   POST /api/sms   { from, text }    { processorId, replies }: the processor's answer to the text
 *   POST /api/ussd  { sessionId, from, text }
 *                                     { sessionId, processorId, status: CON | END, text }: one USSD step; a
 *                                     new sessionId starts with a dialled code (`*384#`), then one reply a step
 *   GET  /api/sms/inbox?phone=        { phone, messages }: texts sent to that phone, newest first
 *   GET  /app/…                       the built web pages (`/` leads to the simulator)
 *
 * Failures are `{ error: { code, message } }` with the status of the code in @semops/protocol's error table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import { z } from 'zod';
import { SemopsError } from '@semops/protocol';
import { createServer, parse } from '@semops/node';
import { listenLoopback, type LoopbackHost } from '../edge.js';
import type { Network } from '../network.js';
import { createSimulatedGateway, normalizePhone, type SimulatorPhone } from './gateway.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The web build (this file sits in cli/src/simulator or cli/dist/simulator: both three levels down). */
export const WEB_DIST = join(here, '..', '..', '..', 'web', 'dist');
export const SIMULATOR_PAGE = '/app/simulator.html';

export interface SimulatorOptions {
  /** The running network whose processors' gateways the simulator plays. */
  readonly net: Pick<Network, 'dir' | 'processors'>;
  /**
   * Numbers the page offers, with their processor. Default: the customers of `<net.dir>/demo.json` when the
   * network is the demo. Other numbers work too: the simulator asks each processor which one serves them.
   */
  readonly phones?: readonly SimulatorPhone[];
  /** Port to listen on; default 0 (any free port). */
  readonly port?: number;
  /** A loopback address; default 127.0.0.1. The simulator moves money on a PIN alone: never expose it. */
  readonly host?: LoopbackHost;
  /** Folder of the built web pages; default `SEMOPS_WEB_DIR` or packages/web/dist. */
  readonly webRoot?: string;
  /** USSD service code; default `*384#`. */
  readonly serviceCode?: string;
  readonly log?: (line: string) => void;
}

export interface Simulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The page: `<url>/app/simulator.html`. */
  readonly pageUrl: string;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;
const MAX_SMS = 480;
const MAX_USSD_INPUT = 20;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

const PHONE_EXPECTED = 'must be a phone number with country code, e.g. +436641000001';

/** A phone number as typed, normalised to `+<country code><number>`. */
const phoneNumber = z.string({ error: PHONE_EXPECTED }).transform((value, ctx) => {
  const phone = value.length <= 32 ? normalizePhone(value) : undefined;
  if (phone) return phone;
  ctx.addIssue({ code: 'custom', message: PHONE_EXPECTED });
  return z.NEVER;
});

/** A text typed on the phone: printable characters (and line breaks in an SMS), at most `max` of them. */
function typed(max: number, lineBreaks: boolean) {
  const notEmpty = 'must be a text that is not empty';
  return z
    .string({ error: notEmpty })
    .refine((v) => v.trim() !== '', notEmpty)
    .refine(
      (v) => [...v].length <= max && !/\p{Cc}/u.test(lineBreaks ? v.replace(/\n/g, '') : v),
      `must be at most ${max} printable characters`,
    );
}

const smsBody = z.object({ from: phoneNumber, text: typed(MAX_SMS, true) });
const ussdBody = z.object({
  sessionId: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{8,64}$/,
      'must be 8 to 64 letters, digits, - or _ (a new one for each dialled session)',
    ),
  from: phoneNumber,
  text: typed(MAX_USSD_INPUT, false),
});
const inboxQuery = z.object({ phone: phoneNumber });

const METHODS: readonly HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Answers every method but `method` on `url` with METHOD_NOT_ALLOWED (Fastify alone would say NOT_FOUND). */
function onlyMethod(app: FastifyInstance, method: HTTPMethods, url: string): void {
  app.route({
    method: METHODS.filter((m) => m !== method),
    url,
    handler: () => {
      throw new SemopsError('METHOD_NOT_ALLOWED');
    },
  });
}

/** The demo customers of `<dir>/demo.json` (written by `semops demo`), or none. */
export function demoPhones(dir: string): SimulatorPhone[] {
  const path = join(dir, 'demo.json');
  if (!existsSync(path)) return [];
  const state = JSON.parse(readFileSync(path, 'utf8')) as { customers?: unknown };
  if (!Array.isArray(state.customers)) return [];
  return state.customers.flatMap((c: unknown) => {
    const r = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    return typeof r.phone === 'string' && typeof r.name === 'string' && typeof r.processorId === 'string'
      ? [{ phone: r.phone, name: r.name, processorId: r.processorId }]
      : [];
  });
}

/**
 * Starts the phone simulator. Close it with `close()`.
 * @example
 *   const sim = await startSimulator({ net, port: 4008 });
 *   console.log(`Phone simulator: ${sim.pageUrl}`);
 */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new Error('the phone simulator listens on the loopback interface only');
  }
  const log = opts.log ?? (() => undefined);
  const webRoot = resolve(opts.webRoot ?? process.env.SEMOPS_WEB_DIR ?? WEB_DIST);
  const gateway = createSimulatedGateway({
    processors: [...opts.net.processors.values()].map((p) => ({
      id: p.id,
      name: p.spec.name,
      url: p.url,
      dataDir: p.dataDir,
      adminToken: p.adminToken,
    })),
    phones: opts.phones ?? demoPhones(opts.net.dir),
    ...(opts.serviceCode ? { serviceCode: opts.serviceCode } : {}),
  });
  let port = 0;

  /** Only pages on this machine, addressed as loopback (no DNS rebinding), from this origin. */
  function checkCaller(req: FastifyRequest): void {
    const forbidden = 'The phone simulator answers only pages it served on this machine.';
    const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
    if (!allowed.includes(req.headers.host ?? '')) throw new SemopsError('FORBIDDEN', forbidden);
    const origin = req.headers.origin;
    if (req.method !== 'GET' && origin !== undefined && origin !== `http://${req.headers.host}`) {
      throw new SemopsError('FORBIDDEN', forbidden);
    }
  }

  /** A file of the web build, or NOT_FOUND (saying how to build the pages when they are not built). */
  async function webFile(pathname: string): Promise<{ rel: string; file: string; body: Buffer }> {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname.slice('/app/'.length));
    } catch {
      throw new SemopsError('NOT_FOUND');
    }
    const file = resolve(webRoot, rel);
    if (!file.startsWith(webRoot + sep) || rel.includes('\0')) throw new SemopsError('NOT_FOUND');
    try {
      return { rel, file, body: await readFile(file) };
    } catch {
      if (!existsSync(join(webRoot, 'simulator.html'))) {
        throw new SemopsError(
          'NOT_FOUND',
          'The web pages are not built; run `npm run build` at the repository root, then restart.',
        );
      }
      throw new SemopsError('NOT_FOUND');
    }
  }

  const app = createServer({ bodyLimit: MAX_BODY });
  app.addHook('onRequest', async (req, reply) => {
    void reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' });
    checkCaller(req);
  });
  app.addHook('onError', async (req, _reply, err: Error & { statusCode?: number }) => {
    const known = err instanceof SemopsError || (err.statusCode ?? 500) < 500;
    if (known && !(err instanceof SemopsError && err.code === 'PARTICIPANT_UNREACHABLE')) return;
    // By error name and message only: request bodies may hold a PIN.
    const cause = err.cause instanceof Error ? ` (${err.cause.name}: ${err.cause.message})` : '';
    log(`simulator: ${req.method} ${req.url.split('?')[0]} failed: ${err.message}${cause}`);
  });

  for (const path of ['/', '/app', '/app/']) {
    app.get(path, (_req, reply) => reply.redirect(SIMULATOR_PAGE, 302));
  }
  app.get('/app/*', async (req, reply) => {
    const { rel, file, body } = await webFile(new URL(req.url, 'http://simulator.invalid').pathname);
    return reply
      .type(CONTENT_TYPES[extname(file)] ?? 'application/octet-stream')
      .header(
        'cache-control',
        // Hashed build assets never change; the rest is checked on every load.
        rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      )
      .send(body);
  });
  app.get('/api/phones', () => ({
    serviceCode: gateway.serviceCode,
    smsNumber: gateway.smsNumber,
    processors: gateway.processors(),
    phones: gateway.phones(),
  }));
  app.post('/api/sms', async (req) => {
    const { from, text } = parse(smsBody, req.body);
    return gateway.sms(from, text);
  });
  app.post('/api/ussd', async (req) => {
    const { sessionId, from, text } = parse(ussdBody, req.body);
    return gateway.ussd(sessionId, from, text.trim());
  });
  app.get('/api/sms/inbox', async (req) => {
    const { phone } = parse(inboxQuery, req.query);
    return { phone, messages: await gateway.inbox(phone) };
  });
  onlyMethod(app, 'GET', '/api/phones');
  onlyMethod(app, 'POST', '/api/sms');
  onlyMethod(app, 'POST', '/api/ussd');
  onlyMethod(app, 'GET', '/api/sms/inbox');

  const server = await listenLoopback(app, opts.port ?? 0, host);
  port = server.port;
  return { url: server.url, pageUrl: `${server.url}${SIMULATOR_PAGE}`, close: () => server.close() };
}
