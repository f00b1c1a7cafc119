/**
 * The HTTP edge shared by every node: Fastify with a body limit, one error handler that turns every failure
 * into `{ error: { code, message, details? } }` with the code's status, zod parsing, bearer credentials and
 * idempotency keys.
 */
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import rateLimit from '@fastify/rate-limit';
import type { z } from 'zod';
import { ERRORS, SemopsError, type ErrorCode } from '@semops/protocol';
import { migrateStore, type Store } from './store.js';
import { TRACE_HEADER, traceIdOf } from './trace.js';

export const BODY_LIMIT = 64 * 1024;

export interface ServerOptions {
  /** pino options for Fastify's logger, or false. */
  readonly logger?: boolean | { level?: string; file?: string };
  readonly bodyLimit?: number;
  /** Serve HTTPS with this certificate and key (PEM); see tls.ts. Default plain HTTP. */
  readonly https?: { readonly cert: string; readonly key: string };
}

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
};

function fastifyErrorCode(err: { code?: string; statusCode?: number }): ErrorCode | undefined {
  const known = err.code === undefined ? undefined : FASTIFY_CODES[err.code];
  if (known) return known;
  if (err.statusCode === 413) return 'PAYLOAD_TOO_LARGE';
  if (err.statusCode === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
    return 'VALIDATION_FAILED';
  return undefined;
}

/** Sends a SemopsError as the standard error body (with Retry-After when the node is overloaded). */
export function sendError(reply: FastifyReply, e: SemopsError): FastifyReply {
  if (e.code === 'OVERLOADED' || e.code === 'RATE_LIMITED') {
    const after = (e.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds ?? 1;
    void reply.header('retry-after', String(after));
  }
  return reply.code(e.http).send(e.toBody());
}

/**
 * Admission control for work that reserves money: at most `maxInFlight` at once, and none while the event
 * loop lags behind by more than `maxLagMs` on average (the node is saturated, so new work would only wait in
 * queues). Past either, the caller is refused with 503 OVERLOADED and Retry-After *before* anything is
 * reserved, so no payment waits in a queue until it expires.
 * @example const admit = createAdmission({ maxInFlight: 256 }); await admit.run(() => payments.approve(…));
 */
export function createAdmission(opts: {
  maxInFlight: number;
  maxLagMs?: number;
  retryAfterSeconds?: number;
}) {
  let inFlight = 0;
  let lagging = false;
  let timer: NodeJS.Timeout | undefined;
  if (opts.maxLagMs !== undefined) {
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const limitNs = opts.maxLagMs * 1e6;
    timer = setInterval(() => {
      lagging = lag.mean > limitNs;
      lag.reset();
    }, 250);
    timer.unref();
  }
  const refuse = () =>
    new SemopsError('OVERLOADED', undefined, { retryAfterSeconds: opts.retryAfterSeconds ?? 1 });
  return {
    get inFlight() {
      return inFlight;
    },
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (inFlight >= opts.maxInFlight || lagging) throw refuse();
      inFlight += 1;
      try {
        return await work();
      } finally {
        inFlight -= 1;
      }
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

/** A Fastify instance with SEMOPS error handling. */
export function createServer(opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key } } : {}),
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? BODY_LIMIT,
    // Per-request logs are off: request lines are not needed to run a node and must never carry customer data.
    // Each request's id is its trace id (trace.ts): `req.log` writes it as `traceId`.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'traceId' }),
    genReqId: (req) => traceIdOf(req.headers),
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  });
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err instanceof SemopsError) return sendError(reply, err);
    const code = fastifyErrorCode(err);
    if (code) return sendError(reply, new SemopsError(code));
    req.log.error({ err }, 'unhandled error');
    return sendError(reply, new SemopsError('INTERNAL', undefined, undefined, { cause: err }));
  });
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header(TRACE_HEADER, req.id);
    done();
  });
  // JSON only: anything else is refused with UNSUPPORTED_MEDIA_TYPE rather than parsed as text.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((_req, reply) => sendError(reply, new SemopsError('NOT_FOUND')));
  return app;
}

/**
 * Rate limits for the routes that ask for them (`config: { rateLimit: limit(…) }`): counted in this node's
 * memory per key in a fixed window; past the limit the call is refused with 429 RATE_LIMITED and Retry-After
 * before its handler runs. Register before the routes.
 * @example await registerRateLimits(app); app.post('/x', { config: { rateLimit: perToken(600) } }, handler);
 */
export async function registerRateLimits(app: FastifyInstance): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new SemopsError('RATE_LIMITED', `Too many requests; retry in ${ctx.after}.`, {
        retryAfterSeconds: Math.max(1, Math.ceil(ctx.ttl / 1000)),
      }),
  });
}

/** A limit of `max` calls a minute per credential (the bearer token: a device or a merchant key). */
export function perCredential(max: number, scope: string) {
  return {
    max,
    timeWindow: 60_000,
    groupId: scope,
    keyGenerator: (req: FastifyRequest) => {
      const h = req.headers.authorization;
      return typeof h === 'string' ? `${scope}:${sha256(h)}` : `${scope}:ip:${req.ip}`;
    },
  };
}

/** A limit of `max` calls per `windowMs` per client address. */
export function perAddress(max: number, scope: string, windowMs = 60_000) {
  return {
    max,
    timeWindow: windowMs,
    groupId: scope,
    keyGenerator: (req: FastifyRequest) => `${scope}:${req.ip}`,
  };
}

/** Parses `data` with `schema`, or throws VALIDATION_FAILED listing what is wrong. */
export function parse<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  const where = first ? `${first.path || 'body'}: ${first.message}` : 'invalid input';
  throw new SemopsError('VALIDATION_FAILED', `Invalid request, ${where}.`, { issues });
}

/** The bearer token of a request, if any. */
export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer ([\w.~+/=-]{8,200})$/.exec(h);
  return m?.[1];
}

/** SHA-256 hex of a string (to store tokens and request bodies by digest). */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Throws UNAUTHORIZED unless the request carries the operator's admin token. */
export function requireAdmin(req: FastifyRequest, adminToken: string): void {
  const t = bearer(req);
  if (!t || !safeEqual(sha256(t), sha256(adminToken))) throw new SemopsError('UNAUTHORIZED');
}

export interface IdempotencyStore {
  /**
   * Runs `fn` once per (scope, key): a repeat with the same body returns the stored response, the same key
   * with another body fails with IDEMPOTENCY_CONFLICT. Without a key, `fn` simply runs.
   */
  run<T>(scope: string, key: string | undefined, body: unknown, fn: () => Promise<T>): Promise<T>;
}

/**
 * Idempotency keys kept in the node's store. Errors are not stored, so a failed call can be retried. Two
 * concurrent calls with one key in one process wait for each other; across instances the primary key
 * decides and the loser returns the stored response.
 */
export async function createIdempotencyStore(store: Store): Promise<IdempotencyStore> {
  await migrateStore(store, 'idempotency', {
    '0001_idempotency_keys': {
      async up(db) {
        await db.schema
          .createTable('idempotency_keys')
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('body_hash', 'text', (c) => c.notNull())
          .addColumn('response', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
          .execute();
      },
    },
  });
  const { db } = store;
  const inflight = new Map<string, Promise<unknown>>();
  const find = async (
    scope: string,
    key: string,
  ): Promise<{ body_hash: string; response: string } | undefined> =>
    db
      .selectFrom('idempotency_keys')
      .select(['body_hash', 'response'])
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
  return {
    async run<T>(scope: string, key: string | undefined, body: unknown, fn: () => Promise<T>): Promise<T> {
      if (key === undefined) return fn();
      if (!/^[\w.:-]{1,64}$/.test(key)) {
        throw new SemopsError(
          'VALIDATION_FAILED',
          'Idempotency-Key must be 1 to 64 letters, digits, or . _ : -',
        );
      }
      const hash = sha256(JSON.stringify(body ?? null));
      const id = `${scope}\u0000${key}`;
      const running = inflight.get(id);
      if (running) await running.catch(() => undefined);
      const row = await find(scope, key);
      if (row) {
        if (row.body_hash !== hash) throw new SemopsError('IDEMPOTENCY_CONFLICT');
        return JSON.parse(row.response) as T;
      }
      const p = fn();
      inflight.set(id, p);
      try {
        const result = await p;
        await db
          .insertInto('idempotency_keys')
          .values({ scope, key, body_hash: hash, response: JSON.stringify(result), created_at: Date.now() })
          .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
          .execute();
        return result;
      } finally {
        inflight.delete(id);
      }
    },
  };
}

export { ERRORS };
