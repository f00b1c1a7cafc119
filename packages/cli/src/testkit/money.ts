/**
 * Money conserved across the network, counted from the processors' real balances: per currency, what
 * customers, merchants (agents' floats among them), agents' commissions and the processors' house accounts
 * hold equals what was deposited (e-money issued against cash: the funding accounts) less what was withdrawn.
 * The settlement accounts are left out: they are claims on the hub, not money, and across processors they
 * cancel out once every processor has booked what the hub committed.
 */

/** One processor's books as `GET /v1/admin/ledger` shows them (balance = credits − debits, posted). */
export interface ProcessorBooks {
  readonly processorId: string;
  readonly byKind: ReadonlyArray<{
    readonly currency: string;
    readonly kind: string;
    readonly balance: string;
  }>;
}

/** What the network holds in one currency, against what came in. */
export interface CurrencyMoney {
  readonly currency: string;
  /** Deposits − withdrawals: the funding accounts' debit balance, summed over processors. */
  readonly deposited: bigint;
  /** Customers, merchants, agents and house accounts (not funding, not settlement), summed over processors. */
  readonly held: bigint;
}

/** Per currency (sorted), the money held against the money deposited. */
export function countMoney(books: readonly ProcessorBooks[]): CurrencyMoney[] {
  const out = new Map<string, { deposited: bigint; held: bigint }>();
  for (const b of books) {
    for (const k of b.byKind) {
      const m = out.get(k.currency) ?? { deposited: 0n, held: 0n };
      const balance = BigInt(k.balance);
      if (k.kind === 'funding') m.deposited -= balance;
      else if (k.kind !== 'settlement') m.held += balance;
      out.set(k.currency, m);
    }
  }
  return [...out].sort(([a], [b]) => a.localeCompare(b)).map(([currency, m]) => ({ currency, ...m }));
}

/**
 * What is wrong with the money, or an empty list: in each processor every account is in a kind (the kinds of a
 * currency sum to zero, so no unlisted account hides money), and per currency the network holds exactly what
 * was deposited (more is money created, less is money lost).
 */
export function moneyProblems(books: readonly ProcessorBooks[]): string[] {
  const problems: string[] = [];
  for (const b of books) {
    const sums = new Map<string, bigint>();
    for (const k of b.byKind) sums.set(k.currency, (sums.get(k.currency) ?? 0n) + BigInt(k.balance));
    for (const [currency, s] of sums) {
      if (s !== 0n)
        problems.push(
          `${b.processorId} ${currency}: its accounts by kind sum to ${s}, not 0 (an unlisted account)`,
        );
    }
  }
  for (const m of countMoney(books)) {
    const diff = m.held - m.deposited;
    if (diff > 0n) problems.push(`${m.currency}: ${diff} created (held ${m.held}, deposited ${m.deposited})`);
    if (diff < 0n) problems.push(`${m.currency}: ${-diff} lost (held ${m.held}, deposited ${m.deposited})`);
  }
  return problems;
}
