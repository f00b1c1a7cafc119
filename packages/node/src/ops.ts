/**
 * What an operator's tooling asks every node, hub and processors alike:
 * - `GET /health` — liveness: the process answers. Always `200 { status: 'ok' }`; no check, no credentials.
 * - `GET /ready` — readiness: every check passes (its database; a processor's link to the hub). `200
 *   { status: 'ready', checks }`, else `503 NOT_READY` with `details.checks` naming what is not ready. No
 *   credentials; it shows nothing but `ok`, `down` or `timeout` per check.
 * - `GET /metrics` — Prometheus text (prom-client), for `Authorization: Bearer <token>` with the node's metrics
 *   token or its operator token; anything else is 401.
 *
 * @example
 * registerOpsRoutes(app, { checks: { database: databaseCheck(store) }, metrics, tokens: [metricsToken, adminToken] });
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { SemopsError } from '@semops/protocol';
import { bearer, safeEqual, sha256 } from './http.js';
import type { NodeMetrics } from './metrics.js';
import type { Store } from './store.js';

/** One readiness check: resolves true when what it checks answers. */
export type ReadinessCheck = () => Promise<boolean>;

export type CheckOutcome = 'ok' | 'down' | 'timeout';

export interface OpsRoutesOptions {
  /** The readiness checks by name (`database`, `hub`), each run with a deadline on every `/ready`. */
  readonly checks: Readonly<Record<string, ReadinessCheck>>;
  readonly metrics: NodeMetrics;
  /** The bearer tokens that may read `/metrics` (the metrics token and the operator token). */
  readonly tokens: readonly string[];
  /** How long a check may take before it counts as `timeout` (default 2 s). */
  readonly checkTimeoutMs?: number;
}

/** Registers `/health`, `/ready` and `/metrics`. */
export function registerOpsRoutes(app: FastifyInstance, opts: OpsRoutesOptions): void {
  const timeoutMs = opts.checkTimeoutMs ?? 2000;
  const digests = opts.tokens.map(sha256);

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async () => {
    const names = Object.keys(opts.checks);
    const outcomes = await Promise.all(names.map((n) => outcomeOf(opts.checks[n]!, timeoutMs)));
    const checks = Object.fromEntries(names.map((n, i) => [n, outcomes[i]!]));
    const failing = names.filter((n) => checks[n] !== 'ok');
    if (failing.length > 0) {
      throw new SemopsError(
        'NOT_READY',
        `Not ready: ${failing.map((n) => `${n} ${checks[n]}`).join(', ')}.`,
        { checks },
      );
    }
    return { status: 'ready', checks };
  });

  app.get('/metrics', async (req, reply) => {
    const t = bearer(req);
    const digest = t === undefined ? undefined : sha256(t);
    if (digest === undefined || !digests.some((d) => safeEqual(d, digest))) {
      throw new SemopsError(
        'UNAUTHORIZED',
        'Send the metrics token or the operator token as a bearer token.',
      );
    }
    const text = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).send(text);
  });
}

async function outcomeOf(check: ReadinessCheck, timeoutMs: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([
      check().then(
        (ok): CheckOutcome => (ok ? 'ok' : 'down'),
        (): CheckOutcome => 'down',
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Readiness of a node's store: a trivial query answers. */
export function databaseCheck(store: Store): ReadinessCheck {
  return async () => {
    await sql`SELECT 1`.execute(store.db);
    return true;
  };
}

/**
 * `check`, asked at most once per `ttlMs`: callers in between share the last answer (or the run in progress).
 * For a check that reaches another node, so that probing `/ready` cannot make this node flood it.
 */
export function cachedCheck(check: ReadinessCheck, ttlMs = 1000): ReadinessCheck {
  let last: { at: number; ok: boolean } | undefined;
  let running: Promise<boolean> | undefined;
  return () => {
    if (last && performance.now() - last.at < ttlMs) return Promise.resolve(last.ok);
    running ??= check()
      .catch(() => false)
      .then((ok) => {
        last = { at: performance.now(), ok };
        running = undefined;
        return ok;
      });
    return running;
  };
}
