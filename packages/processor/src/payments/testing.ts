/**
 * For the payer-side payment tests: the real payment, FX, customer and limit services of one processor over a
 * real SQLite file in a temporary directory, a settable clock, and a scripted hub (what it answers to a
 * prepare or a status query, and every prepare it got). Requests live at another processor (`mno-b`) whose
 * signing key the kit holds, so payments go through the hub as in a network.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ledger } from '@semops/ledger';
import { createLedgerFor, createSql, openStore, silentLog, type Sql, type Store } from '@semops/node';
import {
  REQUEST_TYP,
  SemopsError,
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  newId,
  signJson,
  type Key,
  type PrepareResult,
  type RequestToken,
  type TransferPrepare,
} from '@semops/protocol';
import { migrateProcessor } from '../migrations/index.js';
import { createHouseAccounts, type HouseAccounts } from '../house-accounts.js';
import type { Customer, CustomerService } from '../customers/service.js';
import { createPinHasher } from '../customers/pins.js';
import type { LimitService } from '../limits/service.js';
import type { HubLink } from '../hub/link.js';
import type { FxOptions, FxService } from '../fx/service.js';
import type { PaymentService } from './service.js';
import { createProcessorServices } from '../services.js';

export const PAYEE = 'mno-b';
const PIN_KEY = 'test-pin-key';

/** What the scripted hub says about one transfer. */
export type HubAnswer = Omit<PrepareResult, 'transferId'> | 'unreachable';

export interface PayerKit {
  readonly dir: string;
  readonly store: Store;
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly house: HouseAccounts;
  readonly customers: CustomerService;
  readonly limits: LimitService;
  readonly fx: FxService;
  readonly payments: PaymentService;
  /** The clock every service reads; set it freely. */
  clock: number;
  /** Every prepare the hub received, in order. */
  readonly prepares: TransferPrepare[];
  /** The hub's answer to the next prepares (default: COMMITTED without fees). */
  onPrepare: (p: TransferPrepare) => HubAnswer;
  /** The hub's answer to a status query for a transfer (default: UNKNOWN). */
  onStatus: (id: string) => Omit<PrepareResult, 'transferId' | 'receipt' | 'error'> & { reason?: string };
  /** Posted balance of an account, credits − debits (0 when it does not exist yet). */
  balance(accountId: string): Promise<bigint>;
  /** Pending debits of an account. */
  pendingDebits(accountId: string): Promise<bigint>;
  /** A customer with a PIN (`1234`) and a deposit. */
  customer(currency: string, deposit: bigint): Promise<Customer>;
  /** A request of a merchant at `mno-b`, signed by it, as a customer's phone captures it. */
  remoteRequest(r: {
    currency: string;
    amount?: bigint;
    minAmount?: bigint;
    maxAmount?: bigint;
    category?: string;
  }): Promise<string>;
  close(): Promise<void>;
}

export async function startPayerKit(opts: { fx?: FxOptions } = {}): Promise<PayerKit> {
  const dir = mkdtempSync(join(tmpdir(), 'semops-payer-'));
  const store = await openStore({ dataDir: dir, name: 'bank-c' });
  await migrateProcessor(store);
  const q = createSql(store);
  const ledger = await createLedgerFor(store);
  const house = createHouseAccounts(ledger);
  const enc = await generateEncryptionKeys();
  const payee = await generateSigningKeys();
  const payeePublic: Key = await importSigningKey(payee.publicJwk);
  const payeePrivate: Key = await importSigningKey(payee.privateJwk);
  const pins = createPinHasher(PIN_KEY);
  const prepares: TransferPrepare[] = [];
  const kit = {
    dir,
    store,
    q,
    ledger,
    house,
    clock: 1_800_000_000_000,
    prepares,
    onPrepare: (): HubAnswer => ({ state: 'COMMITTED' }),
    onStatus: () => ({ state: 'UNKNOWN' as const }),
  } as unknown as PayerKit & { clock: number };
  const now = () => kit.clock;

  const hub = {
    async resolveKey(id: string) {
      return id === PAYEE ? payeePublic : undefined;
    },
    async send(type: string, body: unknown) {
      if (type === 'transfer.prepare') {
        const transfers = (body as { transfers: TransferPrepare[] }).transfers;
        prepares.push(...transfers);
        const answers = transfers.map((t) => ({ t, a: kit.onPrepare(t) }));
        if (answers.some((x) => x.a === 'unreachable')) throw new SemopsError('PARTICIPANT_UNREACHABLE');
        return { results: answers.map(({ t, a }) => ({ transferId: t.transferId, ...(a as object) })) };
      }
      if (type === 'transfer.status') {
        const ids = (body as { transferIds: string[] }).transferIds;
        return { transfers: ids.map((id) => ({ transferId: id, ...kit.onStatus(id) })) };
      }
      throw new Error(`the test hub does not answer ${type}`);
    },
  } as unknown as HubLink;

  // Every request here is another processor's: the payee side of this processor is never asked.
  const { customers, limits, fx, payments } = await createProcessorServices({
    q,
    ledger,
    hub,
    id: 'bank-c',
    kind: 'bank',
    currencies: ['HUF'],
    routingPrefix: '303',
    country: 'HU',
    keys: {
      signer: { id: 'bank-c', key: await generateSigningKeys().then((k) => importSigningKey(k.privateJwk)) },
      encryptionPrivateKey: await importEncryptionKey(enc.privateJwk),
    },
    secrets: { pinKey: PIN_KEY, directoryKey: 'test-directory-key' },
    transferTtlMs: 30_000,
    ...(opts.fx ? { fx: opts.fx } : {}),
    now,
    log: silentLog,
  });

  Object.assign(kit, {
    customers,
    limits,
    fx,
    payments,
    async balance(accountId: string) {
      const a = await ledger.getAccount(accountId);
      return a ? a.creditsPosted - a.debitsPosted : 0n;
    },
    async pendingDebits(accountId: string) {
      return (await ledger.getAccount(accountId))?.debitsPending ?? 0n;
    },
    async customer(currency: string, deposit: bigint) {
      const phone = `+3630${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      const c = await customers.create({ phone, name: 'Kovács Anna', currency });
      await q.run`UPDATE customers SET pin_hash = ${pins.hash(c.customerId, '1234')} WHERE id = ${c.customerId}`;
      if (deposit > 0n) await customers.deposit(c.customerId, deposit, newId('tr'));
      return customers.get(c.customerId);
    },
    async remoteRequest(r: {
      currency: string;
      amount?: bigint;
      minAmount?: bigint;
      maxAmount?: bigint;
      category?: string;
    }) {
      const m = (v: bigint | undefined) =>
        v === undefined ? undefined : { value: v.toString(), currency: r.currency };
      const amount = m(r.amount);
      const minAmount = m(r.minAmount);
      const maxAmount = m(r.maxAmount);
      const token: RequestToken = {
        requestId: newId('req'),
        processorId: PAYEE,
        // A person's request (P2P) names the payee 'p2p'.
        merchant:
          r.category === '4829'
            ? { id: 'p2p', name: 'Jane D.', city: '', category: '4829' }
            : { id: 'mer_1', name: 'Café Central', city: 'Wien', category: r.category ?? '5812' },
        currency: r.currency,
        ...(amount ? { amount } : {}),
        ...(minAmount ? { minAmount } : {}),
        ...(maxAmount ? { maxAmount } : {}),
        reference: 'order-1',
        reusable: true,
        shortCode: '2020000171',
        issuedAt: kit.clock,
        expiresAt: kit.clock + 3_600_000,
      };
      return signJson(token, payeePrivate, PAYEE, REQUEST_TYP);
    },
    async close() {
      await ledger.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  return kit;
}
