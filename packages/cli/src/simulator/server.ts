/**
 * The phone simulator of `semops demo`: a small node:http server on the loopback interface that serves the
 * simulator page (`packages/web`, `/app/simulator.html`) and plays the operator's SMS and USSD gateways for
 * it. The page types as a feature phone would; the server delivers to the processor of that number with the
 * gateway secret, which never reaches the browser.
 *
 *   GET  /api/phones                  { serviceCode, smsNumber, processors, phones }: the demo numbers
 *   POST /api/sms   { from, text }    { processorId, replies }: the processor's answer to the text
 *   POST /api/ussd  { sessionId, from, text }
 *                                     { sessionId, processorId, status: CON | END, text }: one USSD step; a
 *                                     new sessionId starts with a dialled code (`*384#`), then one reply a step
 *   GET  /api/sms/inbox?phone=        { phone, messages }: texts sent to that phone, newest first
 *   GET  /app/…                       the built web pages (`/` leads to the simulator)
 *
 * Failures are `{ error: { code, message } }` with the status of the code (./errors.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Network } from '../network.js';
import { SimulatorError } from './errors.js';
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
  readonly host?: '127.0.0.1' | 'localhost' | '::1';
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

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
  });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  // JSON only: a browser cannot send it from another site without a preflight, which is never allowed here.
  if (type !== 'application/json') throw new SimulatorError('UNSUPPORTED_MEDIA_TYPE');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new SimulatorError('PAYLOAD_TOO_LARGE');
    chunks.push(chunk);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new SimulatorError('MALFORMED_JSON');
}

function phoneField(value: unknown, name: string): string {
  const phone = typeof value === 'string' && value.length <= 32 ? normalizePhone(value) : undefined;
  if (!phone) {
    throw new SimulatorError(
      'VALIDATION_FAILED',
      `${name} must be a phone number with country code, e.g. +436641000001.`,
    );
  }
  return phone;
}

/** A text typed on the phone: printable characters (and line breaks in an SMS), at most `max` of them. */
function textField(value: unknown, name: string, max: number, lineBreaks: boolean): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new SimulatorError('VALIDATION_FAILED', `${name} must be a text that is not empty.`);
  }
  const checked = lineBreaks ? value.replace(/\n/g, '') : value;
  if ([...value].length > max || /\p{Cc}/u.test(checked)) {
    throw new SimulatorError('VALIDATION_FAILED', `${name} must be at most ${max} printable characters.`);
  }
  return value;
}

function sessionField(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(value)) {
    throw new SimulatorError(
      'VALIDATION_FAILED',
      'sessionId must be 8 to 64 letters, digits, - or _ (a new one for each dialled session).',
    );
  }
  return value;
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
  function checkCaller(req: IncomingMessage): void {
    const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
    if (!allowed.includes(req.headers.host ?? '')) throw new SimulatorError('FORBIDDEN');
    const origin = req.headers.origin;
    if (req.method !== 'GET' && origin !== undefined && origin !== `http://${req.headers.host}`) {
      throw new SimulatorError('FORBIDDEN');
    }
  }

  async function serveFile(res: ServerResponse, pathname: string): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname.slice('/app/'.length));
    } catch {
      throw new SimulatorError('NOT_FOUND');
    }
    const file = resolve(webRoot, rel);
    if (!file.startsWith(webRoot + sep) || rel.includes('\0')) throw new SimulatorError('NOT_FOUND');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      if (!existsSync(join(webRoot, 'simulator.html'))) {
        throw new SimulatorError(
          'NOT_FOUND',
          'The web pages are not built; run `npm run build` at the repository root, then restart.',
        );
      }
      throw new SimulatorError('NOT_FOUND');
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      // Hashed build assets never change; the rest is checked on every load.
      'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...SECURITY_HEADERS,
    });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkCaller(req);
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
      case 'GET /app':
      case 'GET /app/':
        res.writeHead(302, { location: SIMULATOR_PAGE, ...SECURITY_HEADERS });
        res.end();
        return;
      case 'GET /api/phones':
        return send(res, 200, {
          serviceCode: gateway.serviceCode,
          smsNumber: gateway.smsNumber,
          processors: gateway.processors(),
          phones: gateway.phones(),
        });
      case 'POST /api/sms': {
        const body = await readJson(req);
        const from = phoneField(body.from, 'from');
        const text = textField(body.text, 'text', MAX_SMS, true);
        return send(res, 200, await gateway.sms(from, text));
      }
      case 'POST /api/ussd': {
        const body = await readJson(req);
        const sessionId = sessionField(body.sessionId);
        const from = phoneField(body.from, 'from');
        const text = textField(body.text, 'text', MAX_USSD_INPUT, false).trim();
        return send(res, 200, await gateway.ussd(sessionId, from, text));
      }
      case 'GET /api/sms/inbox': {
        const phone = phoneField(url.searchParams.get('phone') ?? '', 'phone');
        return send(res, 200, { phone, messages: await gateway.inbox(phone) });
      }
      default:
        if (req.method === 'GET' && url.pathname.startsWith('/app/')) return serveFile(res, url.pathname);
        if (['/api/phones', '/api/sms', '/api/ussd', '/api/sms/inbox'].includes(url.pathname)) {
          throw new SimulatorError('METHOD_NOT_ALLOWED');
        }
        throw new SimulatorError('NOT_FOUND');
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err = e instanceof SimulatorError ? e : new SimulatorError('INTERNAL', undefined, { cause: e });
      if (err.code === 'INTERNAL' || err.code === 'GATEWAY_FAILED') {
        // By error name and message only: request bodies may hold a PIN.
        const cause = err.cause instanceof Error ? ` (${err.cause.name}: ${err.cause.message})` : '';
        log(`simulator: ${req.method} ${req.url?.split('?')[0]} failed: ${err.message}${cause}`);
      }
      if (res.headersSent) return res.destroy();
      send(res, err.http, { error: { code: err.code, message: err.message } });
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://${host === '::1' ? '[::1]' : host}:${port}`;
  return {
    url,
    pageUrl: `${url}${SIMULATOR_PAGE}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
