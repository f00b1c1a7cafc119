/**
 * The network harness scenarios and root tests share: a running network and the operator-side helpers that
 * make customers and merchants through the admin APIs, and the check that money is conserved.
 */
import { MerchantClient } from '../clients-merchant.js';
import { Wallet } from '../clients-wallet.js';
import type { Network, NetworkView } from '../network.js';
import { moneyProblems, type ProcessorBooks } from './money.js';
import { waitUntil } from './wait.js';

/** A customer made by {@link Ctx.customer}: an enrolled wallet (PIN 1234) and how to reach them. */
export interface TestCustomer {
  readonly wallet: Wallet;
  readonly phone: string;
  readonly name: string;
  readonly customerId: string;
}

/** A merchant made by {@link Ctx.merchant}: its API client and what the operator was told. */
export interface TestMerchant {
  readonly client: MerchantClient;
  readonly merchantId: string;
  readonly accountId: string;
  readonly apiKey: string;
  readonly webhookSecret: string;
}

/** A processor of the network `N` as it holds it (a process handle, or a node in this process). */
type ProcessorOf<N extends NetworkView> = (N['processors'] extends ReadonlyMap<string, infer P> ? P : never) &
  (NetworkView['processors'] extends ReadonlyMap<string, infer V> ? V : never);

/**
 * What scenarios share: the network and helpers to make customers and merchants through the admin APIs. The
 * network is one of processes ({@link Network}, the default) or any other {@link NetworkView}, such as one in
 * this process.
 */
export class Ctx<N extends NetworkView = Network> {
  private phoneSeq = 0;
  constructor(readonly net: N) {}

  processor(id: string): ProcessorOf<N> {
    const p = this.net.processors.get(id);
    if (!p) throw new Error(`no processor ${id}`);
    return p as ProcessorOf<N>;
  }

  /** A new customer at `processorId` with `balance` deposited and an enrolled device (PIN 1234). */
  async customer(processorId: string, balance: bigint, name = 'Test Customer'): Promise<TestCustomer> {
    const p = this.processor(processorId);
    const phone = `+4366${String(Date.now() % 1e6).padStart(6, '0')}${String(this.phoneSeq++).padStart(3, '0')}`;
    const c = await p.admin.createCustomer({ phone, name, currency: p.spec.currency });
    if (balance > 0n) await p.admin.deposit(c.customerId, balance);
    const wallet = await Wallet.enrol(p.url, phone, c.activationCode, '1234');
    return { wallet, phone, name, customerId: c.customerId };
  }

  async merchant(processorId: string, name = 'Test Shop', webhookUrl?: string): Promise<TestMerchant> {
    const p = this.processor(processorId);
    const m = await p.admin.createMerchant({
      name,
      city: 'Wien',
      category: '5812',
      currency: p.spec.currency,
      ...(webhookUrl ? { webhookUrl } : {}),
    });
    return { client: new MerchantClient(p.url, m.apiKey), ...m };
  }

  /** What a merchant has received: the sum of its completed payments. */
  async merchantBalance(merchant: { client: MerchantClient }): Promise<bigint> {
    const payments = await merchant.client.payments();
    return payments.filter((p) => p.status === 'COMPLETED').reduce((s, p) => s + BigInt(p.amount.value), 0n);
  }

  /**
   * Money is conserved: every ledger balances (debits = credits, pending included), nothing is left pending,
   * each processor's settlement account equals its position at the hub, positions sum to zero, and per
   * currency customers + merchants + house accounts hold exactly deposits − withdrawals ({@link moneyProblems}).
   */
  async conservation(): Promise<string | undefined> {
    const positions = await this.net.hub.admin.positions();
    const problems: string[] = [];
    const sum = new Map<string, bigint>();
    for (const pos of positions) {
      sum.set(pos.currency, (sum.get(pos.currency) ?? 0n) + BigInt(pos.position));
      if (BigInt(pos.reserved) !== 0n)
        problems.push(`hub still reserves ${pos.reserved} for ${pos.processorId}`);
    }
    for (const [cur, s] of sum) if (s !== 0n) problems.push(`hub positions in ${cur} sum to ${s}, not 0`);
    const books: ProcessorBooks[] = [];
    for (const p of this.net.processors.values()) {
      const l = await p.admin.ledger();
      books.push({ processorId: p.id, byKind: l.byKind });
      for (const t of l.totals) {
        if (t.debitsPosted !== t.creditsPosted)
          problems.push(`${p.id} ${t.currency}: posted debits ≠ credits`);
        if (t.debitsPending !== '0' || t.creditsPending !== '0')
          problems.push(`${p.id} ${t.currency}: pending ${t.debitsPending}`);
      }
      for (const pos of positions.filter((x) => x.processorId === p.id)) {
        const settlement = l.byKind.find((k) => k.kind === 'settlement' && k.currency === pos.currency);
        const a = BigInt(settlement?.balance ?? '0');
        const b = BigInt(pos.position);
        if (a !== b) problems.push(`${p.id}: settlement account ${a} ≠ hub position ${b} ${pos.currency}`);
      }
    }
    problems.push(...moneyProblems(books));
    return problems.length ? problems.join('; ') : undefined;
  }

  /**
   * Waits until the network is quiet (nothing reserved or pending), up to `ms`, for the scenarios command. A
   * vitest test polls {@link conservation} with `expect.poll` instead.
   */
  async settled(ms = 10_000): Promise<void> {
    await waitUntil(
      () => this.conservation(),
      (problem) => problem === undefined,
      { timeoutMs: ms },
    );
  }
}
