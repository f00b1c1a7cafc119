/**
 * The operator's view of the books: per currency and account kind, posted balance and pending amounts. Every
 * account of the ledger is in one kind, so the kinds of a currency sum to zero (double entry); the scenarios
 * check that, compare the settlement account with the hub's position, and count the money held (customers,
 * merchants and agents, house accounts) against what was deposited (the funding account). House accounts
 * (settlement, funding, fx, fxmargin, fees, interchange, nostro, and the agents' commission expense
 * `fee_expense`) appear by kind; customers, merchants (agents' floats among them) and agents' commission
 * accounts summed per kind.
 */
import type { Ledger } from '@semops/ledger';
import type { Sql } from '@semops/node';
import { FEE_EXPENSE_KIND } from './agents/service.js';
import { HOUSE_ACCOUNT_KINDS } from './house-accounts.js';

export async function ledgerSummary(q: Sql, ledger: Ledger) {
  const rows = await q.all<{ id: string }>`SELECT account_id AS id FROM customers
    UNION ALL SELECT account_id AS id FROM merchants
    UNION ALL SELECT commission_account_id AS id FROM agents`;
  const ids = rows.map((r) => r.id);
  const totals = await ledger.totals();
  for (const t of totals) {
    for (const kind of [...HOUSE_ACCOUNT_KINDS, FEE_EXPENSE_KIND]) ids.push(`${kind}:${t.currency}`);
  }
  const accounts = await ledger.getAccounts(ids);
  const sums = new Map<string, { balance: bigint; debitsPending: bigint; creditsPending: bigint }>();
  for (const a of accounts) {
    const k = `${a.currency}\u0000${a.code}`;
    const s = sums.get(k) ?? { balance: 0n, debitsPending: 0n, creditsPending: 0n };
    s.balance += a.creditsPosted - a.debitsPosted;
    s.debitsPending += a.debitsPending;
    s.creditsPending += a.creditsPending;
    sums.set(k, s);
  }
  return {
    byKind: [...sums].map(([k, s]) => {
      const [currency, kind] = k.split('\u0000');
      return {
        currency,
        kind,
        balance: s.balance.toString(),
        debitsPending: s.debitsPending.toString(),
        creditsPending: s.creditsPending.toString(),
      };
    }),
    totals: totals.map((t) => ({
      currency: t.currency,
      debitsPosted: t.debitsPosted.toString(),
      creditsPosted: t.creditsPosted.toString(),
      debitsPending: t.debitsPending.toString(),
      creditsPending: t.creditsPending.toString(),
    })),
  };
}
