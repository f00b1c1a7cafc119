/**
 * A customer's statement: settled (and still pending) movements of their account between two dates, of one
 * type or all, as JSON or CSV (a header row, amounts as decimals), each with who is on the other side as the
 * customer may see them: the merchant paid or refunding, the person paid (`To Ben O.`) or the sender of money
 * received (`From Ben O.` inside this processor; the sender's processor, `From Bank A`, when the money came
 * from another one: a sender's identity never leaves their processor). The SMS and USSD mini statement is
 * the last few of the same lines (`lastMovements`).
 */
import type { Ledger, Transfer } from '@semops/ledger';
import type { Sql } from '@semops/node';
import { formatAmount } from '@semops/protocol';
import { payeeName, type Customer, type PayeeNameRule } from './service.js';

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
  /** The merchant, person, agent or processor on the other side, when there is one. */
  readonly counterparty: string | null;
  /** The line as a customer reads it: `Cafe Central`, `To Ben O.`, `From Bank A`, `Refund Cafe Central`. */
  readonly description: string;
}

export interface StatementDeps {
  readonly q: Sql;
  readonly ledger: Ledger;
  /** This processor's id: money from its own customers names them, money from others names their processor. */
  readonly processorId?: string;
  /** Another processor's display name (`Bank A`), from the hub's registry. */
  readonly processorName?: (id: string) => Promise<string | undefined>;
  /** How much of a sender's name a customer sees (the same rule as for payees). */
  readonly payeeNames?: PayeeNameRule;
}

export async function statement(
  deps: StatementDeps,
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
  const out = await entriesOf(deps, customer, all, filter);
  return out.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.id < b.id ? -1 : 1));
}

/** The last `n` movements of the customer's account, newest first (the mini statement of SMS and USSD). */
export async function lastMovements(
  deps: StatementDeps,
  customer: Customer,
  n: number,
): Promise<StatementEntry[]> {
  // A movement has at most three legs on the customer's account; pending ones come with a post record.
  const listed = await deps.ledger.listTransfers(customer.accountId, { limit: Math.min(1000, n * 6) });
  const out = await entriesOf(deps, customer, listed, {});
  return out.sort((a, b) => (a.date > b.date ? -1 : a.date < b.date ? 1 : a.id > b.id ? -1 : 1)).slice(0, n);
}

/**
 * One entry per movement: a converted payment (or its refund) moves the customer's money in up to three legs
 * — `<id>:fx`, `<id>:fxm`, `<id>:fee` — which the customer sees as one line of the total.
 */
async function entriesOf(
  deps: StatementDeps,
  customer: Customer,
  transfers: readonly Transfer[],
  filter: { from?: number; to?: number; type?: StatementType },
): Promise<StatementEntry[]> {
  const seen = new Set<string>();
  const byId = new Map<string, StatementEntry>();
  for (const t of transfers) {
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
    const about = await describe(deps, { ...t, id }, direction);
    if (filter.type !== undefined && about.type !== filter.type) continue;
    byId.set(id, {
      id,
      date: new Date(t.createdAt).toISOString(),
      direction,
      amount: signed,
      currency: t.currency,
      state: t.state,
      reference: t.reference ?? null,
      ...about,
    });
  }
  return [...byId.values()];
}

type About = Pick<StatementEntry, 'type' | 'counterparty' | 'description'>;

const about = (type: StatementType, counterparty: string | null, description: string): About => ({
  type,
  counterparty,
  description,
});

/** What a movement is, and who is on the other side. */
async function describe(deps: StatementDeps, t: Transfer, direction: 'in' | 'out'): Promise<About> {
  const { q } = deps;
  if (t.code === 'deposit') return about('deposit', null, 'Deposit');
  if (t.code === 'topup') return about('deposit', null, 'Voucher top-up');
  if (t.code === 'cash_in') {
    const agent = await q.one<{ name: string }>`SELECT m.name FROM agents a
      JOIN merchants m ON m.id = a.merchant_id WHERE a.float_account_id = ${t.debitAccountId}`;
    return about('deposit', agent?.name ?? null, agent ? `Cash in ${agent.name}` : 'Cash in');
  }
  if (direction === 'out') {
    const payee = await merchantOfPayment(q, t.id);
    if (payee?.id === 'p2p') return about('p2p', payee.name, `To ${payee.name}`);
    return about('payment', payee?.name ?? null, payee?.name ?? 'Payment');
  }
  // Money in: an incoming transfer (its id is the reference of every leg), a refund or a person's payment.
  const i = t.reference
    ? await q.one<{
        payer: string;
        refund_of: string | null;
        customer_id: string | null;
      }>`SELECT payer, refund_of, customer_id FROM incoming WHERE id = ${t.reference}`
    : undefined;
  if (i?.refund_of) {
    const name = (await merchantOfPayment(q, i.refund_of))?.name ?? null;
    return about('refund', name, name ? `Refund ${name}` : 'Refund');
  }
  if (t.code === 'refund') return about('refund', null, 'Refund');
  if (!i || i.customer_id === null) return about('payment', null, 'Received');
  const sender = await senderOf(deps, t.reference!, i.payer);
  return about('p2p', sender, sender ? `From ${sender}` : 'Received');
}

/** The payee of one of our customers' payments, as it was shown to them (`{ id: 'p2p', name }` for a person). */
async function merchantOfPayment(
  q: Sql,
  paymentId: string,
): Promise<{ id?: string; name: string } | undefined> {
  const p = await q.one<{ merchant: string }>`SELECT merchant FROM payments WHERE id = ${paymentId}`;
  try {
    const m = JSON.parse(p?.merchant ?? 'null') as { id?: unknown; name?: unknown } | null;
    return typeof m?.name === 'string'
      ? { ...(typeof m.id === 'string' ? { id: m.id } : {}), name: m.name }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Who sent money to one of our customers: another of our customers by the name rule (the payment is ours,
 * under the incoming transfer's id), else only their processor.
 */
async function senderOf(deps: StatementDeps, transferId: string, payer: string): Promise<string | null> {
  if (payer === deps.processorId) {
    const c = await deps.q.one<{ name: string }>`SELECT c.name FROM payments p
      JOIN customers c ON c.id = p.customer_id WHERE p.id = ${transferId}`;
    return c ? payeeName(c.name, deps.payeeNames) : null;
  }
  return (await deps.processorName?.(payer).catch(() => undefined)) ?? payer;
}

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * The statement as CSV: `date,id,type,direction,amount,currency,state,reference,counterparty`, amounts as
 * decimals.
 */
export function statementCsv(entries: readonly StatementEntry[]): string {
  const lines = ['date,id,type,direction,amount,currency,state,reference,counterparty'];
  for (const e of entries) {
    const abs = e.amount < 0n ? -e.amount : e.amount;
    const amount = `${e.amount < 0n ? '-' : ''}${formatAmount(abs, e.currency)}`;
    lines.push(
      [
        e.date,
        e.id,
        e.type,
        e.direction,
        amount,
        e.currency,
        e.state,
        e.reference ?? '',
        e.counterparty ?? '',
      ]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}
