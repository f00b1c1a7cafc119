/**
 * Merchant webhooks: every event is written to an outbox in the same database, then delivered by a worker as
 * a signed POST (`Semops-Signature: t=<ms>,v1=<HMAC-SHA256(secret, t + "." + body)>`), retried with
 * exponential back-off until the merchant answers 2xx (at most MAX_ATTEMPTS times).
 */
import { createHmac } from 'node:crypto';
import { request } from 'undici';
import type { Sql, Log } from '@semops/node';
import { newId } from '@semops/protocol';
import type { ProcessorMetrics } from '../metrics.js';

export const MAX_ATTEMPTS = 12;
/** How long a claimed delivery is left to the instance that claimed it. */
const CLAIM_MS = 30_000;

export interface WebhookTarget {
  readonly id: string;
  readonly webhookUrl: string | null;
  readonly webhookSecret: string;
}

/** The `Semops-Signature` header value for a body. */
export function signWebhook(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export function createWebhookService(deps: {
  q: Sql;
  now: () => number;
  secretOf: (merchantId: string) => Promise<string>;
  log?: Log;
  /** Counts delivery attempts, ok or failed. */
  metrics?: ProcessorMetrics;
}) {
  const { q, now } = deps;
  let running = false;
  const inFlight = new Set<string>();

  async function deliver(row: {
    id: string;
    merchant_id: string;
    url: string;
    body: string;
    attempts: number;
  }) {
    const t = now();
    let error: string | undefined;
    try {
      const res = await request(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'semops-signature': signWebhook(await deps.secretOf(row.merchant_id), row.body, t),
          'semops-event-id': row.id,
        },
        body: row.body,
        headersTimeout: 5000,
        bodyTimeout: 5000,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await q.run`UPDATE webhook_deliveries SET status = 'DELIVERED', attempts = attempts + 1 WHERE id = ${row.id}`;
        deps.metrics?.webhook('ok');
        return;
      }
      error = `HTTP ${res.statusCode}`;
    } catch (e) {
      error = e instanceof Error ? e.message.slice(0, 200) : 'error';
    }
    deps.metrics?.webhook('failed');
    const attempts = row.attempts + 1;
    const backoff = Math.min(1000 * 2 ** (attempts - 1), 3_600_000);
    const status = attempts >= MAX_ATTEMPTS ? 'FAILED' : 'PENDING';
    await q.run`UPDATE webhook_deliveries SET attempts = ${attempts}, next_at = ${now() + backoff},
        last_error = ${error ?? null}, status = ${status} WHERE id = ${row.id}`;
  }

  async function tick() {
    if (running) return;
    running = true;
    try {
      const t = now();
      const candidates = (
        await q.all<{
          id: string;
          merchant_id: string;
          url: string;
          body: string;
          attempts: number;
          next_at: number;
        }>`
          SELECT id, merchant_id, url, body, attempts, next_at FROM webhook_deliveries
          WHERE status = 'PENDING' AND next_at <= ${t} ORDER BY next_at LIMIT 50`
      ).filter((r) => !inFlight.has(r.id));
      // Claim each delivery (push its next attempt out) so that other instances of this processor skip it.
      const rows: typeof candidates = [];
      for (const r of candidates) {
        const claimed = await q.run`UPDATE webhook_deliveries SET next_at = ${t + CLAIM_MS}
          WHERE id = ${r.id} AND status = 'PENDING' AND next_at = ${r.next_at}`;
        if (claimed === 1) rows.push(r);
      }
      await Promise.all(
        rows.map(async (r) => {
          inFlight.add(r.id);
          try {
            await deliver(r);
          } finally {
            inFlight.delete(r.id);
          }
        }),
      );
    } catch (e) {
      deps.log?.warn({ err: String(e) }, 'webhook worker failed; will retry');
    } finally {
      running = false;
    }
  }

  return {
    /** Queues an event for a merchant (nothing when it has no webhook URL). */
    /** Queues an event for the merchant's webhook; in the caller's transaction `tx` when given (an outbox). */
    async enqueue(m: WebhookTarget, type: string, data: unknown, tx: Sql = q): Promise<void> {
      if (!m.webhookUrl) return;
      const id = newId('evt');
      const t = now();
      const body = JSON.stringify({ id, type, createdAt: t, data });
      await tx.run`INSERT INTO webhook_deliveries (id, merchant_id, url, body, next_at, status, created_at)
        VALUES (${id}, ${m.id}, ${m.webhookUrl}, ${body}, ${t}, 'PENDING', ${t})`;
      setImmediate(() => void tick());
    },
    /** Delivers what is due (and retries what failed); run periodically by the node (`startLoop`). */
    deliverDue: tick,
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
