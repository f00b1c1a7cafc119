/**
 * Mandates (scheduled and recurring payments): the customer approves once, with PIN and device signature, a
 * mandate bounded by payee (a reusable request they resolved), amount per instalment (≤ maxAmount), interval
 * and an optional end date or count. A job claims due instalments from the database (a conditional update, so
 * that two instances never start one twice) and pays each through the normal payment path under a nonce
 * derived from mandate id and sequence, so that a retry after a crash never pays it twice.
 */
import { isUniqueViolation, parse, type Sql, type Log } from '@semops/node';
import {
  MANDATE_TYP,
  MAX_APPROVAL_TTL_MS,
  MAX_CLOCK_SKEW_MS,
  SemopsError,
  mandate as mandateSchema,
  newId,
  peekJws,
  verifyJson,
  type MoneyWire,
} from '@semops/protocol';
import type { Customer, CustomerService, Device } from '../customers/service.js';
import type { PaymentService } from '../payments/service.js';

export type MandateStatus = 'ACTIVE' | 'CANCELLED' | 'COMPLETED';
type InstalmentStatus = 'CLAIMED' | 'PENDING' | 'COMPLETED' | 'FAILED';

interface MandateRow {
  id: string;
  customer_id: string;
  device_id: string;
  nonce: string;
  request_id: string;
  payee: string;
  merchant: string;
  amount: string;
  max_amount: string;
  currency: string;
  interval_spec: string;
  start_at: number | string;
  end_at: number | string | null;
  max_count: number | string | null;
  slot: number | string;
  seq: number | string;
  paid: number | string;
  status: MandateStatus;
  next_at: number | string | null;
  created_at: number | string;
}

interface InstalmentRow {
  mandate_id: string;
  seq: number | string;
  due_at: number | string;
  status: InstalmentStatus;
  payment_id: string | null;
  error: string | null;
  created_at: number | string;
  updated_at: number | string;
}

export interface MandateDeps {
  readonly q: Sql;
  readonly customers: CustomerService;
  readonly payments: PaymentService;
  readonly now: () => number;
  readonly log: Log;
}

const DAY_MS = 86_400_000;
/** An instalment claimed this long ago and still unfinished was interrupted (crash): it is resumed. */
const RESUME_AFTER_MS = 5_000;

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** When slot `k` of a schedule starting at `start` is due. */
export function dueAt(spec: string, start: number, k: number): number {
  if (spec === 'monthly') {
    // Same day of the month, or the month's last day (31 January → 28 February → 31 March).
    const d = new Date(start);
    const first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + k, 1);
    const f = new Date(first);
    const last = new Date(Date.UTC(f.getUTCFullYear(), f.getUTCMonth() + 1, 0)).getUTCDate();
    return (
      first +
      (Math.min(d.getUTCDate(), last) - 1) * DAY_MS +
      (start - Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
    );
  }
  const step = spec === 'daily' ? DAY_MS : spec === 'weekly' ? 7 * DAY_MS : Number(spec) * 1000;
  return start + k * step;
}

/** The first slot after `slot` that is due after `t`: a late job skips missed slots (no catch-up burst). */
export function nextSlot(spec: string, start: number, slot: number, t: number): number {
  let k = slot + 1;
  if (spec !== 'monthly') {
    const step = dueAt(spec, 0, 1);
    k = Math.max(k, Math.floor((t - start) / step) + 1);
  }
  while (dueAt(spec, start, k) <= t) k++;
  return k;
}

function instalmentView(i: InstalmentRow) {
  return {
    seq: Number(i.seq),
    dueAt: Number(i.due_at),
    status: i.status === 'CLAIMED' ? 'PENDING' : i.status,
    ...(i.payment_id ? { paymentId: i.payment_id } : {}),
    ...(i.error ? { error: i.error } : {}),
  };
}

function mandateView(m: MandateRow, instalments: InstalmentRow[]) {
  const count = num(m.max_count);
  const endAt = num(m.end_at);
  const spec = m.interval_spec;
  return {
    mandateId: m.id,
    status: m.status,
    requestId: m.request_id,
    payee: m.payee,
    merchant: JSON.parse(m.merchant) as unknown,
    amount: { value: m.amount, currency: m.currency },
    maxAmount: { value: m.max_amount, currency: m.currency },
    interval: /^\d+$/.test(spec) ? Number(spec) : spec,
    startAt: Number(m.start_at),
    ...(endAt === null ? {} : { endAt }),
    ...(count === null ? {} : { count }),
    paid: Number(m.paid),
    ...(m.next_at === null ? {} : { nextAt: Number(m.next_at) }),
    createdAt: Number(m.created_at),
    instalments: instalments.map(instalmentView),
  };
}

export function createMandateService(deps: MandateDeps) {
  const { q, now, payments, customers } = deps;
  /** Instalments this process is paying right now (`mandateId:seq`). */
  const running = new Set<string>();
  let current: Promise<void> | undefined;

  const one = (id: string) => q.one<MandateRow>`SELECT * FROM mandates WHERE id = ${id}`;
  const instalmentNonce = (mandateId: string, seq: number) => `mandate_${mandateId}_${seq}`;

  /** Records an instalment's outcome once; a completed one counts towards the mandate's `count`. */
  async function finish(
    m: MandateRow,
    seq: number,
    status: Exclude<InstalmentStatus, 'CLAIMED'>,
    paymentId: string | null,
    error: string | null,
  ): Promise<void> {
    const t = now();
    await q.tx(async (tx) => {
      const n = await tx.run`UPDATE mandate_instalments SET status = ${status},
          payment_id = COALESCE(${paymentId}, payment_id), error = ${error}, updated_at = ${t}
        WHERE mandate_id = ${m.id} AND seq = ${seq} AND status IN ('CLAIMED', 'PENDING')`;
      if (n !== 1 || status !== 'COMPLETED') return;
      await tx.run`UPDATE mandates SET paid = paid + 1, updated_at = ${t} WHERE id = ${m.id}`;
      await tx.run`UPDATE mandates SET status = 'COMPLETED', next_at = NULL, updated_at = ${t}
        WHERE id = ${m.id} AND status = 'ACTIVE' AND max_count IS NOT NULL AND paid >= max_count`;
    });
  }

  /** Pays instalment `seq` through the payment path; its nonce makes a second attempt find the first. */
  async function payInstalment(m: MandateRow, seq: number): Promise<void> {
    const key = `${m.id}:${seq}`;
    if (running.has(key)) return;
    running.add(key);
    try {
      const customer = await customers.get(m.customer_id);
      if (customer.status !== 'active') {
        await finish(m, seq, 'FAILED', null, 'ACCOUNT_BLOCKED');
        return;
      }
      const amount: MoneyWire = { value: m.amount, currency: m.currency };
      let view: { paymentId: string; status: string; error?: string };
      try {
        const r = await payments.payInstalment(
          customer,
          m.device_id,
          { requestId: m.request_id, payee: m.payee },
          amount,
          instalmentNonce(m.id, seq),
        );
        if (!('paymentId' in r)) return;
        view = r;
      } catch (e) {
        if (!(e instanceof SemopsError)) throw e;
        const existing = (e.details as { paymentId?: string } | undefined)?.paymentId;
        if (e.code === 'APPROVAL_REPLAYED' && existing) {
          // Started before (another instance, or before a crash): follow that payment.
          const p = await payments.find(existing);
          view = p ?? { paymentId: existing, status: 'PENDING' };
        } else {
          // INSUFFICIENT_FUNDS, LIMIT_EXCEEDED, REQUEST_EXPIRED…: recorded; the next slot tries again.
          const failed = await q.one<{ id: string }>`SELECT id FROM payments
            WHERE nonce = ${instalmentNonce(m.id, seq)}`;
          await finish(m, seq, 'FAILED', failed?.id ?? null, e.code);
          deps.log.info({ mandateId: m.id, seq, code: e.code }, 'mandate instalment failed');
          return;
        }
      }
      const status =
        view.status === 'COMPLETED' ? 'COMPLETED' : view.status === 'FAILED' ? 'FAILED' : 'PENDING';
      await finish(m, seq, status, view.paymentId, status === 'FAILED' ? (view.error ?? 'FAILED') : null);
    } finally {
      running.delete(key);
    }
  }

  /**
   * Claims the due instalment of a mandate: moves the mandate to its next slot and records the instalment in
   * one transaction, only if no one else did (same `seq`, still ACTIVE). Returns the claimed seq.
   */
  async function claim(m: MandateRow, t: number): Promise<number | undefined> {
    const seq = Number(m.seq);
    const slot = Number(m.slot);
    const start = Number(m.start_at);
    const endAt = num(m.end_at);
    const count = num(m.max_count);
    const dueNow = Number(m.next_at);
    if (endAt !== null && dueNow > endAt) {
      await q.run`UPDATE mandates SET status = 'COMPLETED', next_at = NULL, updated_at = ${t}
        WHERE id = ${m.id} AND status = 'ACTIVE' AND seq = ${seq}`;
      return undefined;
    }
    const next = nextSlot(m.interval_spec, start, slot, t);
    const nextAt = dueAt(m.interval_spec, start, next);
    return q.tx(async (tx) => {
      if (count !== null) {
        // Never beyond the bound: completed plus in-flight instalments stay within `count`.
        const open = await tx.one<{ n: number | string }>`SELECT COUNT(*) AS n FROM mandate_instalments
          WHERE mandate_id = ${m.id} AND status IN ('CLAIMED', 'PENDING')`;
        if (Number(m.paid) + Number(open?.n ?? 0) >= count) {
          if (Number(open?.n ?? 0) === 0) {
            await tx.run`UPDATE mandates SET status = 'COMPLETED', next_at = NULL, updated_at = ${t}
              WHERE id = ${m.id} AND status = 'ACTIVE' AND seq = ${seq}`;
          }
          return undefined;
        }
      }
      const n = await tx.run`UPDATE mandates SET seq = ${seq + 1}, slot = ${next}, next_at = ${nextAt},
          updated_at = ${t}
        WHERE id = ${m.id} AND status = 'ACTIVE' AND seq = ${seq}`;
      if (n !== 1) return undefined;
      await tx.run`INSERT INTO mandate_instalments (mandate_id, seq, due_at, status, created_at, updated_at)
        VALUES (${m.id}, ${seq + 1}, ${dueNow}, 'CLAIMED', ${t}, ${t})`;
      return seq + 1;
    });
  }

  /** One pass of the job: start due instalments, resume interrupted ones, follow pending ones. */
  async function tick(): Promise<void> {
    const t = now();
    const due = await q.all<MandateRow>`SELECT * FROM mandates WHERE status = 'ACTIVE' AND next_at <= ${t}
      ORDER BY next_at LIMIT 100`;
    const started: Array<Promise<void>> = [];
    for (const m of due) {
      const seq = await claim(m, t);
      if (seq !== undefined) started.push(payInstalment(m, seq));
    }
    const open = await q.all<InstalmentRow>`SELECT * FROM mandate_instalments
      WHERE status IN ('CLAIMED', 'PENDING') AND updated_at < ${t - 1000} ORDER BY created_at LIMIT 100`;
    for (const i of open) {
      const m = await one(i.mandate_id);
      if (!m) continue;
      const seq = Number(i.seq);
      if (i.status === 'CLAIMED') {
        if (Number(i.created_at) < t - RESUME_AFTER_MS) started.push(payInstalment(m, seq));
      } else if (i.payment_id) {
        const p = await payments.find(i.payment_id);
        if (p?.status === 'COMPLETED') await finish(m, seq, 'COMPLETED', i.payment_id, null);
        else if (p?.status === 'FAILED') await finish(m, seq, 'FAILED', i.payment_id, p.error ?? 'FAILED');
      }
    }
    await Promise.all(started);
  }

  function safeTick(): Promise<void> {
    current ??= tick()
      .catch((e: unknown) => deps.log.warn({ err: String(e) }, 'mandate job failed; will retry'))
      .finally(() => {
        current = undefined;
      });
    return current;
  }

  async function get(customer: Customer, id: string) {
    const m = await one(id);
    if (!m || m.customer_id !== customer.id) throw new SemopsError('MANDATE_NOT_FOUND');
    return mandateView(m, (await instalmentsOf([id])).get(id) ?? []);
  }

  async function instalmentsOf(ids: string[]): Promise<Map<string, InstalmentRow[]>> {
    const out = new Map<string, InstalmentRow[]>();
    for (const id of ids) {
      out.set(
        id,
        await q.all<InstalmentRow>`SELECT * FROM mandate_instalments WHERE mandate_id = ${id} ORDER BY seq`,
      );
    }
    return out;
  }

  return {
    /** Verifies a device-signed, PIN-carrying mandate and records it; its first instalment is due at `startAt`. */
    async create(auth: { device: Device; customer: Customer }, jws: string) {
      const { device, customer } = auth;
      const { kid, typ } = peekJws(jws);
      if (typ !== MANDATE_TYP || kid !== device.id) throw new SemopsError('APPROVAL_INVALID');
      let raw: unknown;
      try {
        raw = await verifyJson(jws, device.key, MANDATE_TYP);
      } catch {
        throw new SemopsError('APPROVAL_INVALID');
      }
      const a = parse(mandateSchema, raw);
      if (a.deviceId !== device.id) throw new SemopsError('APPROVAL_INVALID');
      const t0 = now();
      if (a.expiresAt <= t0) throw new SemopsError('APPROVAL_EXPIRED');
      if (a.expiresAt > t0 + MAX_APPROVAL_TTL_MS + MAX_CLOCK_SKEW_MS) {
        throw new SemopsError('VALIDATION_FAILED', 'A mandate approval may live at most 5 minutes.');
      }
      if (a.amount.currency !== a.maxAmount.currency) throw new SemopsError('CURRENCY_MISMATCH');
      if (BigInt(a.amount.value) <= 0n)
        throw new SemopsError('VALIDATION_FAILED', 'The amount must be positive.');
      if (BigInt(a.amount.value) > BigInt(a.maxAmount.value)) throw new SemopsError('MANDATE_EXCEEDS_BOUND');
      if (a.startAt < t0 - MAX_CLOCK_SKEW_MS) {
        throw new SemopsError('VALIDATION_FAILED', 'A mandate cannot start in the past.');
      }
      if (a.endAt !== undefined && a.endAt < a.startAt) {
        throw new SemopsError('VALIDATION_FAILED', 'A mandate must end after it starts.');
      }
      if (await q.one`SELECT id FROM mandates WHERE nonce = ${a.nonce}`) {
        throw new SemopsError('APPROVAL_REPLAYED');
      }
      const t = await payments.payInstalment(
        customer,
        device.id,
        { requestId: a.requestId, payee: a.payee },
        a.amount,
        null,
      );
      if ('paymentId' in t) throw new SemopsError('INTERNAL');
      if (!t.reusable) {
        throw new SemopsError('VALIDATION_FAILED', 'A mandate needs a reusable request of the payee.');
      }
      await customers.checkPin(customer.id, await customers.decryptPin(a.pin));
      const id = `mdt_${newId('evt', t0).slice(4)}`;
      const startAt = Math.max(a.startAt, t0);
      try {
        await q.run`INSERT INTO mandates (id, customer_id, device_id, nonce, request_id, payee, merchant, amount,
            max_amount, currency, interval_spec, start_at, end_at, max_count, slot, seq, paid, status, next_at,
            created_at, updated_at)
          VALUES (${id}, ${customer.id}, ${device.id}, ${a.nonce}, ${t.requestId}, ${t.processorId},
            ${JSON.stringify(t.merchant)}, ${a.amount.value}, ${a.maxAmount.value}, ${a.amount.currency},
            ${String(a.interval)}, ${startAt}, ${a.endAt ?? null}, ${a.count ?? null}, 0, 0, 0, 'ACTIVE',
            ${startAt}, ${t0}, ${t0})`;
      } catch (e) {
        if (isUniqueViolation(e)) throw new SemopsError('APPROVAL_REPLAYED');
        throw e;
      }
      if (startAt <= now()) void safeTick();
      return { mandateId: id, status: 'ACTIVE' as const, nextAt: startAt };
    },

    async list(customer: Customer) {
      const rows = await q.all<MandateRow>`SELECT * FROM mandates WHERE customer_id = ${customer.id}
        ORDER BY created_at DESC, id DESC LIMIT 200`;
      const inst = await instalmentsOf(rows.map((r) => r.id));
      return rows.map((r) => mandateView(r, inst.get(r.id) ?? []));
    },

    get,

    /** Cancels a mandate: no instalment starts after this (one already under way finishes). */
    async cancel(customer: Customer, id: string) {
      const m = await one(id);
      if (!m || m.customer_id !== customer.id) throw new SemopsError('MANDATE_NOT_FOUND');
      await q.run`UPDATE mandates SET status = 'CANCELLED', next_at = NULL, updated_at = ${now()}
        WHERE id = ${id} AND status = 'ACTIVE'`;
      return get(customer, id);
    },

    /** Pays the instalments that are due (one pass at a time); run periodically by the node (`startLoop`). */
    tick: safeTick,
  };
}

export type MandateService = ReturnType<typeof createMandateService>;
