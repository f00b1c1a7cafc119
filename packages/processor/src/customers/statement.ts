/**
 * A customer's statement: settled (and still pending) movements of their account between two dates, of one
 * type or all, as JSON or CSV (a header row, amounts as decimals).
 */
import type { Ledger, Transfer } from '@semops/ledger';
import type { Sql } from '@semops/node';
import { formatAmount } from '@semops/protocol';
import type { Customer } from './service.js';

export type StatementType = 'payment' | 'deposit' | 'refund' | 'p2p';

export interface StatementEntry {
  readonly id: string;
  readonly date: string;
  readonly type: StatementType;
  readonly direction: 'in' | 'out';
  /** Minor units, negative for money out. */
  readonly amount: bigint;
  readonly currency: string;
  readonly state: 'posted' | 'pending';
  readonly reference: string | null;
}

export async function statement(
  deps: { q: Sql; ledger: Ledger },
  customer: Customer,
  filter: { from?: number; to?: number; type?: StatementType },
): Promise<StatementEntry[]> {
  const all: Transfer[] = [];
  let before: number | undefined = filter.to === undefined ? undefined : filter.to + 1;
  for (let page = 0; page < 20; page++) {
    const batch = await deps.ledger.listTransfers(customer.accountId, {
      limit: 1000,
      ...(before === undefined ? {} : { before }),
    });
    all.push(...batch);
    const oldest = batch.reduce((m, t) => Math.min(m, t.createdAt), Number.POSITIVE_INFINITY);
    if (batch.length < 1000 || (filter.from !== undefined && oldest < filter.from)) break;
    before = oldest;
  }
  const seen = new Set<string>();
  // A converted payment (or its refund) moves the customer's money in up to three legs — `<id>:fx`,
  // `<id>:fxm`, `<id>:fee` — which the customer sees as one line of the total.
  const byId = new Map<string, StatementEntry>();
  for (const t of all) {
    if (t.pendingId !== undefined || seen.has(t.id)) continue;
    seen.add(t.id);
    if (t.state !== 'posted' && t.state !== 'pending') continue;
    if (filter.from !== undefined && t.createdAt < filter.from) continue;
    if (filter.to !== undefined && t.createdAt > filter.to) continue;
    const id = t.id.replace(/:(fx|fxm|fee)$/, '');
    const signed = t.creditAccountId === customer.accountId ? t.amount : -t.amount;
    const earlier = byId.get(id);
    if (earlier) {
      const amount = earlier.amount + signed;
      byId.set(id, { ...earlier, amount, direction: amount < 0n ? 'out' : 'in' });
      continue;
    }
    const direction = signed < 0n ? 'out' : 'in';
    const type = await typeOf(deps.q, { ...t, id }, direction);
    if (filter.type !== undefined && type !== filter.type) continue;
    byId.set(id, {
      id,
      date: new Date(t.createdAt).toISOString(),
      type,
      direction,
      amount: signed,
      currency: t.currency,
      state: t.state,
      reference: t.reference ?? null,
    });
  }
  const out = [...byId.values()];
  return out.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.id < b.id ? -1 : 1));
}

async function typeOf(q: Sql, t: Transfer, direction: 'in' | 'out'): Promise<StatementType> {
  if (t.code === 'deposit' || t.code === 'topup') return 'deposit';
  if (t.code === 'refund') return 'refund';
  if (direction === 'out') {
    const p = await q.one<{ merchant: string }>`SELECT merchant FROM payments WHERE id = ${t.id}`;
    const m = p ? (JSON.parse(p.merchant) as { id?: string }) : {};
    return m.id === 'p2p' ? 'p2p' : 'payment';
  }
  const r = t.reference
    ? await q.one<{ customer_id: string | null }>`SELECT customer_id FROM requests WHERE id = ${t.reference}`
    : undefined;
  return r?.customer_id ? 'p2p' : 'payment';
}

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** The statement as CSV: `date,id,type,direction,amount,currency,state,reference`, amounts as decimals. */
export function statementCsv(entries: readonly StatementEntry[]): string {
  const lines = ['date,id,type,direction,amount,currency,state,reference'];
  for (const e of entries) {
    const abs = e.amount < 0n ? -e.amount : e.amount;
    const amount = `${e.amount < 0n ? '-' : ''}${formatAmount(abs, e.currency)}`;
    lines.push(
      [e.date, e.id, e.type, e.direction, amount, e.currency, e.state, e.reference ?? '']
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}
