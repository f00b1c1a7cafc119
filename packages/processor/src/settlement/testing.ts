/**
 * For the settlement and payee-booking tests: the real services of one processor over a real SQLite file in a
 * temporary directory (no hub, no HTTP server unless a test registers routes), a settable clock, and helpers
 * that play the hub (prepares) and the payer side (a converted payment as it is stored and booked).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ledger } from '@semops/ledger';
import { createLedgerFor, createSql, openStore, silentLog, type Sql, type Store } from '@semops/node';
import {
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  newId,
  type FxQuote,
  type TransferPrepare,
} from '@semops/protocol';
import { migrateProcessor } from '../migrations/index.js';
import { createHouseAccounts, type HouseAccounts } from '../house-accounts.js';
import type { CustomerService } from '../customers/service.js';
import type { MerchantService } from '../merchants/service.js';
import type { NotificationService } from '../notifications/service.js';
import type { RequestService } from '../requests/service.js';
import type { HubLink } from '../hub/link.js';
import { createProcessorServices } from '../services.js';
import type { PaymentFx } from '../payments/fx.js';

export interface Kit {
  readonly id: string;
  readonly dir: string;
  readonly store: Store;
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly house: HouseAccounts;
  readonly customers: CustomerService;
  readonly merchants: MerchantService;
  readonly notifications: NotificationService;
  readonly requests: RequestService;
  /** The clock the services read; set it freely. */
  clock: number;
  /** Posted balance of an account, credits − debits (0 when it does not exist yet). */
  balance(accountId: string): Promise<bigint>;
  merchant(currency?: string): Promise<{ id: string; accountId: string }>;
  customer(currency: string, deposit: bigint): Promise<{ id: string; accountId: string }>;
  /** A prepare as the hub forwards it to this processor (payee). */
  prepare(p: Partial<TransferPrepare> & Pick<TransferPrepare, 'requestId' | 'amount'>): TransferPrepare;
  /**
   * A payment one of our customers made to `payee`, converted with `q` and committed: the payments row with
   * its `fx` column and the payer-side bookings of the plan (`<id>` fx:TGT → settlement:TGT posted, `:fx`,
   * `:fxm`, `:fee` from the customer).
   */
  convertedPayment(customer: { id: string; accountId: string }, payee: string, q: FxQuote): Promise<string>;
  close(): Promise<void>;
}

export async function startKit(id = 'mno-b'): Promise<Kit> {
  const dir = mkdtempSync(join(tmpdir(), 'semops-settlement-'));
  const store = await openStore({ dataDir: dir, name: id });
  await migrateProcessor(store);
  const q = createSql(store);
  const ledger = await createLedgerFor(store);
  const house = createHouseAccounts(ledger);
  const signing = await generateSigningKeys();
  const enc = await generateEncryptionKeys();
  const peerKey = await importEncryptionKey(enc.publicJwk);
  const kit: Kit = {
    id,
    dir,
    store,
    q,
    ledger,
    house,
    clock: 1_800_000_000_000,
    customers: undefined as unknown as CustomerService,
    merchants: undefined as unknown as MerchantService,
    notifications: undefined as unknown as NotificationService,
    requests: undefined as unknown as RequestService,
    async balance(accountId) {
      const a = await ledger.getAccount(accountId);
      return a ? a.creditsPosted - a.debitsPosted : 0n;
    },
    async merchant(currency = 'EUR') {
      const m = await kit.merchants.create({
        name: 'Café Central',
        city: 'Wien',
        category: '5812',
        currency,
        webhookUrl: 'http://127.0.0.1:9/hook',
      });
      return { id: m.merchantId, accountId: m.accountId };
    },
    async customer(currency, deposit) {
      const phone = `+3630${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      const c = await kit.customers.create({ phone, name: 'Kovács Anna', currency });
      if (deposit > 0n) await kit.customers.deposit(c.customerId, deposit, newId('pay'));
      return { id: c.customerId, accountId: c.accountId };
    },
    prepare(p) {
      return {
        transferId: newId('pay'),
        payer: 'bank-c',
        payee: id,
        expiresAt: kit.clock + 30_000,
        ...p,
      };
    },
    async convertedPayment(customer, payee, fq) {
      const pid = newId('pay');
      const tgt = fq.request.amount.currency;
      const src = fq.request.payerCurrency;
      const mid =
        fq.request.rate.base === tgt
          ? fq.request.rate.rate
          : { num: fq.request.rate.rate.den, den: fq.request.rate.rate.num };
      const m = (v: bigint) => ({ value: v.toString(), currency: src });
      const fx: PaymentFx = {
        quoteId: newId('fxq'),
        source: m(fq.total.value),
        payerAmount: m(fq.payerAmount.value),
        fee: m(fq.fee.value),
        rate: { num: fq.rate.rate.num.toString(), den: fq.rate.rate.den.toString() },
        mid: { num: mid.num.toString(), den: mid.den.toString() },
        positionCredit: m(fq.legs.fxPositionCredit.value),
        marginCredit: m(fq.legs.fxMarginCredit.value),
        rateShown: fq.rateShown,
      };
      const t = kit.clock;
      await q.run`INSERT INTO payments (id, customer_id, device_id, nonce, request_id, payee, merchant, reference,
          amount, currency, state, expires_at, created_at, updated_at, fx)
        VALUES (${pid}, ${customer.id}, 'dev', ${`n_${pid}`}, ${newId('req')}, ${payee},
          ${JSON.stringify({ id: 'mer_x', name: 'Café Central', city: 'Wien', category: '5812' })}, 'order-1',
          ${fq.request.amount.value.toString()}, ${tgt}, 'COMMITTED', ${t + 30_000}, ${t}, ${t}, ${JSON.stringify(fx)})`;
      const tr = (id: string, debit: string, credit: string, amount: bigint, currency: string) => ({
        kind: 'transfer' as const,
        id,
        debitAccountId: debit,
        creditAccountId: credit,
        amount,
        currency,
        pending: true,
      });
      const legs = [
        tr(pid, await house.fx(tgt), await house.settlement(tgt), fq.request.amount.value, tgt),
        tr(`${pid}:fx`, customer.accountId, await house.fx(src), fq.legs.fxPositionCredit.value, src),
        tr(`${pid}:fxm`, customer.accountId, await house.fxmargin(src), fq.legs.fxMarginCredit.value, src),
        ...(fq.fee.value > 0n
          ? [tr(`${pid}:fee`, customer.accountId, await house.fees(src), fq.fee.value, src)]
          : []),
      ];
      const reserved = await ledger.executeAtomic(legs);
      if (reserved.some((r) => !r.ok)) throw new Error(`reserve failed: ${JSON.stringify(reserved)}`);
      const posted = await ledger.executeAtomic(
        legs.map((l) => ({ kind: 'post' as const, id: `${l.id}:post`, pendingId: l.id })),
      );
      if (posted.some((r) => !r.ok)) throw new Error(`post failed: ${JSON.stringify(posted)}`);
      return pid;
    },
    async close() {
      await ledger.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const now = () => kit.clock;
  // The payee side answers prepares in process; the hub is asked for nothing but the payer's sealing key.
  const hub = { encryptionKey: async () => peerKey } as unknown as HubLink;
  const verifying = await importSigningKey(signing.publicJwk);
  const { customers, merchants, notifications, requests } = await createProcessorServices({
    q,
    ledger,
    hub,
    id,
    kind: 'mno',
    currencies: ['EUR'],
    routingPrefix: '202',
    country: 'AT',
    keys: {
      signer: { id, key: await importSigningKey(signing.privateJwk) },
      ownKey: () => verifying,
      encryptionPrivateKey: await importEncryptionKey(enc.privateJwk),
    },
    secrets: { pinKey: 'test-pin-key', directoryKey: 'test-directory-key' },
    transferTtlMs: 30_000,
    now,
    log: silentLog,
  });
  Object.assign(kit, { customers, merchants, notifications, requests });
  return kit;
}
