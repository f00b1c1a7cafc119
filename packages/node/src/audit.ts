/**
 * The node's audit log: who changed what (operator actions, customers' credential changes, blocks, window
 * closes, fee and rate changes), append-only and hash-chained. Entry n stores `hash = SHA-256(hash of entry
 * n-1 + its own fields)`, and a head row keeps the count and the last hash: editing an entry breaks its hash,
 * deleting one breaks the sequence or the chain, and cutting the tail no longer matches the head. `verify`
 * recomputes everything; `semops audit verify` runs it on every node.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Migration } from 'kysely';
import { z } from 'zod';
import { parse, requireAdmin } from './http.js';
import { migrateStore, type Store } from './store.js';

/** `GET /v1/admin/audit?after=&limit=`. */
export const auditQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  /** `operator`, `customer:<id>`, `device:<id>`, `sms:<phone>`, `ussd:<phone>`, `node:<id>`. */
  readonly actor: string;
  /** What was done, e.g. `POST /v1/admin/customers/:id/block` or `customer.block`. */
  readonly action: string;
  /** What it was done to (a customer, a window, a processor), when known. */
  readonly subject: string | null;
  /** The outcome: the HTTP status, or `ok`. */
  readonly outcome: string;
  readonly hash: string;
}

export interface AuditVerdict {
  readonly ok: boolean;
  readonly entries: number;
  /** The hash of the last entry: write it down elsewhere to notice a rewrite of the whole log. */
  readonly head: string;
  readonly problems: string[];
}

export interface AuditLog {
  append(entry: { actor: string; action: string; subject?: string | null; outcome?: string }): Promise<void>;
  list(opts?: { after?: number; limit?: number }): Promise<AuditEntry[]>;
  verify(): Promise<AuditVerdict>;
}

const GENESIS = '0'.repeat(64);

const MIGRATIONS: Record<string, Migration> = {
  '0001_audit': {
    async up(db) {
      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.insertInto('audit_head').values({ id: 1, count: 0, hash: GENESIS }).execute();
    },
  },
};

function entryHash(prev: string, e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256')
    .update(prev)
    .update(JSON.stringify([e.seq, e.at, e.actor, e.action, e.subject, e.outcome]))
    .digest('hex');
}

interface Row {
  seq: number | string;
  at: number | string;
  actor: string;
  action: string;
  subject: string | null;
  outcome: string;
  hash: string;
}

const toEntry = (r: Row): AuditEntry => ({ ...r, seq: Number(r.seq), at: Number(r.at) });

export async function createAuditLog(store: Store, opts: { now?: () => number } = {}): Promise<AuditLog> {
  await migrateStore(store, 'audit', MIGRATIONS);
  const { db } = store;
  const now = opts.now ?? Date.now;
  // One append at a time in this process; the head row's lock orders instances on PostgreSQL.
  let line: Promise<void> = Promise.resolve();
  return {
    append(entry) {
      const run = async () => {
        await db.transaction().execute(async (tx) => {
          let q = tx.selectFrom('audit_head').select(['count', 'hash']).where('id', '=', 1);
          if (store.engine === 'postgres') q = q.forUpdate();
          const head: { count: number | string; hash: string } = await q.executeTakeFirstOrThrow();
          const e = {
            seq: Number(head.count) + 1,
            at: now(),
            actor: entry.actor.slice(0, 120),
            action: entry.action.slice(0, 200),
            subject: entry.subject?.slice(0, 200) ?? null,
            outcome: (entry.outcome ?? 'ok').slice(0, 40),
          };
          const hash = entryHash(head.hash, e);
          await tx
            .insertInto('audit_log')
            .values({ ...e, hash })
            .execute();
          await tx.updateTable('audit_head').set({ count: e.seq, hash }).where('id', '=', 1).execute();
        });
      };
      const p = line.then(run);
      line = p.catch(() => undefined);
      return p;
    },

    async list({ after = 0, limit = 100 } = {}) {
      const rows = (await db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit)
        .execute()) as Row[];
      return rows.map(toEntry);
    },

    async verify() {
      const problems: string[] = [];
      const head = await db
        .selectFrom('audit_head')
        .select(['count', 'hash'])
        .where('id', '=', 1)
        .executeTakeFirst();
      let prev = GENESIS;
      let expected = 1;
      for (let after = 0; ;) {
        const rows = (await db
          .selectFrom('audit_log')
          .selectAll()
          .where('seq', '>', after)
          .orderBy('seq')
          .limit(1000)
          .execute()) as Row[];
        if (rows.length === 0) break;
        for (const r of rows.map(toEntry)) {
          if (r.seq !== expected) {
            problems.push(`entries ${expected}–${r.seq - 1} are missing`);
            expected = r.seq;
          }
          const { hash, ...fields } = r;
          const want = entryHash(prev, fields);
          if (hash !== want && problems.length < 20)
            problems.push(`entry ${r.seq} was changed (hash differs)`);
          prev = hash;
          expected += 1;
          after = r.seq;
        }
      }
      const count = expected - 1;
      if (!head) problems.push('the head of the log is missing');
      else {
        if (Number(head.count) !== count)
          problems.push(`the head counts ${head.count} entries, the log has ${count}`);
        if (head.hash !== prev) problems.push('the last entry is not the one the head recorded');
      }
      return { ok: problems.length === 0, entries: count, head: prev, problems };
    },
  };
}

/** Paths of customer calls that change a credential or block: audited with the outcome. */
const CUSTOMER_CHANGES = [
  '/v1/wallet/enrol',
  '/v1/wallet/pin',
  '/v1/wallet/limits',
  '/v1/wallet/alias',
  '/v1/wallet/devices/new-activation',
  '/v1/wallet/device/block',
];

/**
 * Serves the log to the operator (`GET /v1/admin/audit`, `…/verify`) and audits every operator call that changes something (any non-GET under `/v1/admin/`) and every customer
 * credential change or block, with its outcome (HTTP status), after it was answered.
 */
export function auditRoutes(app: FastifyInstance, audit: AuditLog, adminToken: string): void {
  app.get('/v1/admin/audit', async (req) => {
    requireAdmin(req, adminToken);
    return { entries: await audit.list(parse(auditQuery, req.query ?? {})) };
  });
  app.get('/v1/admin/audit/verify', async (req) => {
    requireAdmin(req, adminToken);
    return audit.verify();
  });
  app.addHook('onResponse', async (req: FastifyRequest, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    const path = req.routeOptions.url ?? req.url.split('?')[0] ?? '';
    const admin = path.startsWith('/v1/admin/');
    if (!admin && !CUSTOMER_CHANGES.includes(path)) return;
    const params = (req.params ?? {}) as Record<string, unknown>;
    const subject = Object.values(params).find((v): v is string => typeof v === 'string') ?? null;
    await audit
      .append({
        actor: admin ? 'operator' : `client:${req.ip}`,
        action: `${req.method} ${path}`,
        subject,
        outcome: String(reply.statusCode),
      })
      .catch((e: unknown) => req.log.error({ err: e }, 'audit entry not written'));
  });
}
