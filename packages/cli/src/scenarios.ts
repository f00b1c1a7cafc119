/**
 * `semops scenarios`: every payment situation of the core network, run against a fresh network through the
 * public HTTP APIs only, each followed by a check that money is conserved across all nodes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECEIPT_TYP, formatMoney, importSigningKey, verifyJson, type MoneyWire } from '@semops/protocol';
import { MerchantClient, Wallet } from './clients.js';
import { call, codeOf } from './http.js';
import pg from 'pg';
import { schemaName } from '@semops/node';
import { startNetwork, type Network } from './network.js';
import { USE_CASE_SCENARIOS } from './scenarios-usecases.js';
import { ACCOUNT_SCENARIOS } from './scenarios-account.js';
import { MANDATE_SCENARIOS } from './scenarios-mandates.js';
import { AGENT_SCENARIOS } from './scenarios-agents.js';
import { BILL_SCENARIOS } from './scenarios-bills.js';
import { CROSS_BORDER_SCENARIOS } from './scenarios-crossborder.js';

export interface ScenarioResult {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string;
}

export class ScenarioFailure extends Error {}

export function expect(cond: unknown, message: string): asserts cond {
  if (!cond) throw new ScenarioFailure(message);
}

const eur = (value: bigint): MoneyWire => ({ value: value.toString(), currency: 'EUR' });
const show = (value: bigint) => formatMoney({ value, currency: 'EUR' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` until it returns `want` (the payee side commits when the hub's notification arrives). */
async function eventually<T>(read: () => Promise<T>, want: T, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await read();
    if (got === want || Date.now() > end) return got;
    await sleep(100);
  }
}

/**
 * Retries `fn` while it fails with ALIAS_NOT_FOUND: a new customer's blinded phone number reaches the hub
 * directory within a sync interval (2 s).
 */
async function waitFor<T>(fn: () => Promise<T>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end || !(e instanceof Error) || !('code' in e) || e.code !== 'ALIAS_NOT_FOUND')
        throw e;
      await sleep(200);
    }
  }
}

/** What scenarios share: the network and helpers to make customers and merchants through the admin APIs. */
export class Ctx {
  private phoneSeq = 0;
  constructor(readonly net: Network) {}

  processor(id: string) {
    const p = this.net.processors.get(id);
    if (!p) throw new Error(`no processor ${id}`);
    return p;
  }

  /** A new customer at `processorId` with `balance` deposited and an enrolled device (PIN 1234). */
  async customer(processorId: string, balance: bigint, name = 'Test Customer') {
    const p = this.processor(processorId);
    const phone = `+4366${String(Date.now() % 1e6).padStart(6, '0')}${String(this.phoneSeq++).padStart(3, '0')}`;
    const c = await p.admin.createCustomer({ phone, name, currency: p.spec.currency });
    if (balance > 0n) await p.admin.deposit(c.customerId, balance);
    const wallet = await Wallet.enrol(p.url, phone, c.activationCode, '1234');
    return { wallet, phone, name, customerId: c.customerId };
  }

  async merchant(processorId: string, name = 'Test Shop', webhookUrl?: string) {
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

  async merchantBalance(processorId: string, merchant: { client: MerchantClient }): Promise<bigint> {
    const { payments } = await merchant.client.payments();
    void processorId;
    return payments.filter((p) => p.status === 'COMPLETED').reduce((s, p) => s + BigInt(p.amount.value), 0n);
  }

  /**
   * Money is conserved: every ledger balances (debits = credits, pending included), nothing is left pending,
   * each processor's settlement account equals its position at the hub, and positions sum to zero.
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
    for (const p of this.net.processors.values()) {
      const l = await p.admin.ledger();
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
    return problems.length ? problems.join('; ') : undefined;
  }

  /** Waits until the network is quiet (nothing reserved or pending), up to `ms`. */
  async settled(ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if ((await this.conservation()) === undefined) return;
      await sleep(100);
    }
  }
}

async function verifyReceipt(ctx: Ctx, receipt: string | undefined, payee: string): Promise<boolean> {
  if (!receipt) return false;
  const info = await ctx.processor(payee).admin.info();
  const payload = (await verifyJson(receipt, await importSigningKey(info.signingKey), RECEIPT_TYP)) as {
    processorId: string;
  };
  return payload.processorId === payee;
}

async function purchase(ctx: Ctx, payer: string, payee: string, amount: bigint): Promise<string> {
  const c = await ctx.customer(payer, 100_00n);
  const m = await ctx.merchant(payee, 'Café Central');
  const req = await m.client.createRequest({ currency: 'EUR', amount: eur(amount), reference: 'order-1' });
  const t0 = Date.now();
  const paid = await c.wallet.pay(req.qr, '1234');
  const ms = Date.now() - t0;
  expect(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
  expect(await verifyReceipt(ctx, paid.receipt, payee), 'receipt is not signed by the payee processor');
  const bal = await c.wallet.balance();
  expect(bal === 100_00n - amount, `customer balance ${bal}`);
  // The payee processor books the payment when the hub's notification arrives, a moment after the payer.
  const status = await eventually(async () => (await m.client.request(req.id)).status, 'PAID', 15_000);
  expect(status === 'PAID', `request is ${status}`);
  const got = await eventually(() => ctx.merchantBalance(payee, m), amount, 15_000);
  expect(got === amount, `merchant received ${got}`);
  return `${show(amount)} ${payer} → ${payee} in ${ms} ms; customer ${show(100_00n)} → ${show(bal)}; receipt signed by ${payee}`;
}

export interface Scenario {
  readonly name: string;
  run(ctx: Ctx): Promise<string>;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'bank-a customer buys from an mno-b merchant',
    run: (ctx) => purchase(ctx, 'bank-a', 'mno-b', 12_50n),
  },
  {
    name: 'mno-b customer buys from a bank-a merchant',
    run: (ctx) => purchase(ctx, 'mno-b', 'bank-a', 7_80n),
  },
  {
    name: 'payment inside one processor (bank-a → bank-a)',
    run: (ctx) => purchase(ctx, 'bank-a', 'bank-a', 3_20n),
  },
  {
    name: 'payer-entered amount within min/max is paid (short code)',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 50_00n);
      const m = await ctx.merchant('mno-b', 'Parking Zone 1');
      const req = await m.client.createRequest({
        currency: 'EUR',
        minAmount: eur(1_00n),
        maxAmount: eur(20_00n),
        reference: 'zone-1',
        reusable: true,
      });
      const p = await c.wallet.pay(req.shortCode, '1234', eur(4_50n));
      expect(p.status === 'COMPLETED', `payment ${p.status} ${p.error ?? ''}`);
      expect((await c.wallet.balance()) === 45_50n, 'customer not debited 4.50');
      return `paid 4.50 EUR by typing code ${req.shortCode} (range 1.00–20.00)`;
    },
  },
  {
    name: 'payer-entered amount outside min/max is refused, nothing moves',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 50_00n);
      const m = await ctx.merchant('mno-b');
      const req = await m.client.createRequest({
        currency: 'EUR',
        minAmount: eur(1_00n),
        maxAmount: eur(20_00n),
        reference: 'r',
      });
      const r = await c.wallet.resolve(req.deepLink);
      const low = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234', { amount: eur(50n) })));
      const high = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234', { amount: eur(25_00n) })));
      expect(low === 'AMOUNT_OUT_OF_RANGE' && high === 'AMOUNT_OUT_OF_RANGE', `got ${low}, ${high}`);
      expect((await c.wallet.balance()) === 50_00n, 'balance changed');
      return `0.50 → ${low}, 25.00 → ${high}; balance unchanged`;
    },
  },
  {
    name: 'insufficient funds is refused with nothing reserved',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 5_00n);
      const m = await ctx.merchant('mno-b');
      const req = await m.client.createRequest({
        currency: 'EUR',
        amount: eur(9_99n),
        reference: 'too-much',
      });
      const code = await codeOf(c.wallet.pay(req.token, '1234'));
      expect(code === 'INSUFFICIENT_FUNDS', `got ${code}`);
      const me = await c.wallet.me();
      expect(me.available.value === '500' && me.balance.value === '500', 'funds were touched');
      const again = await m.client.request(req.id);
      expect(again.status === 'OPEN', 'request should stay open');
      return `9.99 EUR with 5.00 EUR → ${code}; available still 5.00`;
    },
  },
  {
    name: 'wrong PIN three times locks the PIN',
    async run(ctx) {
      const c = await ctx.customer('mno-b', 20_00n);
      const m = await ctx.merchant('bank-a');
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(1_00n), reference: 'pin' });
      const r = await c.wallet.resolve(req.qr);
      const codes: string[] = [];
      for (let i = 0; i < 3; i++)
        codes.push(await codeOf(c.wallet.submit(await c.wallet.approval(r, '9999'))));
      const right = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234')));
      expect(codes.join() === 'PIN_INVALID,PIN_INVALID,PIN_LOCKED', `got ${codes.join()}`);
      expect(right === 'PIN_LOCKED', `correct PIN after lock gave ${right}`);
      expect((await c.wallet.balance()) === 20_00n, 'balance changed');
      await ctx.processor('mno-b').admin.unlock(c.customerId);
      const after = await c.wallet.submit(await c.wallet.approval(r, '1234'));
      expect(after.status === 'COMPLETED', 'operator unlock did not restore payments');
      return `${codes.join(' → ')}; right PIN then ${right}; operator unlock → payment ok`;
    },
  },
  {
    name: 'expired request is refused',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 10_00n);
      const m = await ctx.merchant('mno-b');
      const req = await m.client.createRequest({
        currency: 'EUR',
        amount: eur(1_00n),
        reference: 'late',
        expiresInSeconds: 1,
      });
      const r = await c.wallet.resolve(req.qr);
      await sleep(1100);
      const approve = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234')));
      const resolve = await codeOf(c.wallet.resolve(req.qr));
      const status = (await m.client.request(req.id)).status;
      expect(approve === 'REQUEST_EXPIRED' && resolve === 'REQUEST_EXPIRED', `got ${approve}, ${resolve}`);
      expect(status === 'EXPIRED', `request is ${status}`);
      expect((await c.wallet.balance()) === 10_00n, 'balance changed');
      return `approve → ${approve}, resolve → ${resolve}, merchant sees ${status}`;
    },
  },
  {
    name: 'single-use request approved twice at the same moment pays exactly once',
    async run(ctx) {
      const x = await ctx.customer('bank-a', 30_00n);
      const y = await ctx.customer('bank-a', 30_00n);
      const z = await ctx.customer('mno-b', 30_00n);
      const m = await ctx.merchant('mno-b');
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(10_00n), reference: 'once' });
      const rs = await Promise.all([x, y, z].map((c) => c.wallet.resolve(req.qr)));
      const approvals = await Promise.all([x, y, z].map((c, i) => c.wallet.approval(rs[i]!, '1234')));
      const results = await Promise.all(
        [x, y, z].map((c, i) =>
          c.wallet.submit(approvals[i]!).then(
            (p) => p.status,
            (e: { code?: string }) => e.code ?? 'ERR',
          ),
        ),
      );
      await ctx.settled();
      const paid = results.filter((s) => s === 'COMPLETED').length;
      const balances = await Promise.all([x, y, z].map((c) => c.wallet.balance()));
      const debited = balances.filter((b) => b === 20_00n).length;
      expect(paid === 1, `${paid} payments completed: ${results.join()}`);
      expect(
        debited === 1 && balances.every((b) => b === 20_00n || b === 30_00n),
        `balances ${balances.join()}`,
      );
      expect(
        (await eventually(() => ctx.merchantBalance('mno-b', m), 10_00n, 15_000)) === 10_00n,
        'merchant not paid exactly once',
      );
      return `three payers at once → ${results.join(', ')}`;
    },
  },
  {
    name: 'replayed approval is rejected',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 30_00n);
      const m = await ctx.merchant('mno-b', 'Vending 7', undefined);
      const req = await m.client.createRequest({
        currency: 'EUR',
        amount: eur(2_00n),
        reference: 'snack',
        reusable: true,
      });
      const approval = await c.wallet.approval(await c.wallet.resolve(req.qr), '1234');
      const first = await c.wallet.submit(approval);
      const again = await codeOf(c.wallet.submit(approval));
      expect(first.status === 'COMPLETED', `first ${first.status}`);
      expect(again === 'APPROVAL_REPLAYED', `replay gave ${again}`);
      expect((await c.wallet.balance()) === 28_00n, 'charged more than once');
      return `first → COMPLETED, same approval again → ${again}; charged once`;
    },
  },
  {
    name: 'approval with altered amount, payee or signature is rejected',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 30_00n);
      const m = await ctx.merchant('mno-b');
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(5_00n), reference: 'tamper' });
      const r = await c.wallet.resolve(req.qr);
      const amount = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234', { amount: eur(1n) })));
      const payee = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234', { payee: 'bank-a' })));
      const good = await c.wallet.approval(r, '1234');
      const [h, p, s] = good.split('.');
      const body = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { amount: MoneyWire };
      body.amount = eur(1n);
      const forged = `${h}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${s}`;
      const sig = await codeOf(c.wallet.submit(forged));
      expect(amount === 'AMOUNT_MISMATCH', `amount → ${amount}`);
      expect(payee === 'PAYEE_MISMATCH', `payee → ${payee}`);
      expect(sig === 'APPROVAL_INVALID', `forged → ${sig}`);
      expect((await c.wallet.balance()) === 30_00n, 'balance changed');
      expect((await m.client.request(req.id)).status === 'OPEN', 'request no longer open');
      return `amount → ${amount}, payee → ${payee}, edited after signing → ${sig}`;
    },
  },
  {
    name: 'prepare beyond the payer processor net debit cap is refused, nothing reserved',
    async run(ctx) {
      const hub = ctx.net.hub.admin;
      const before = (await hub.positions()).find((p) => p.processorId === 'bank-a')!;
      const keep = 20_00n;
      const cut = BigInt(before.available) - keep;
      await hub.liquidity('bank-a', eur(cut), 'withdraw');
      try {
        const c = await ctx.customer('bank-a', 100_00n);
        const m = await ctx.merchant('mno-b');
        const req = await m.client.createRequest({ currency: 'EUR', amount: eur(50_00n), reference: 'big' });
        const p = await c.wallet.pay(req.qr, '1234');
        const me = await c.wallet.me();
        const pos = (await hub.positions()).find((x) => x.processorId === 'bank-a')!;
        expect(
          p.status === 'FAILED' && p.error === 'NET_DEBIT_CAP_EXCEEDED',
          `got ${p.status} ${p.error ?? ''}`,
        );
        expect(me.available.value === '10000', `customer available ${me.available.value}`);
        expect(pos.reserved === '0', `hub reserved ${pos.reserved}`);
        return `50.00 EUR with 20.00 EUR liquidity left → ${p.error}; nothing reserved`;
      } finally {
        await hub.liquidity('bank-a', eur(cut), 'deposit');
      }
    },
  },
  {
    name: 'payee that never answers: aborted at expiry, reservation voided',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 40_00n);
      const m = await ctx.merchant('mno-b');
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(15_00n), reference: 'silent' });
      const approval = await c.wallet.approval(await c.wallet.resolve(req.qr), '1234');
      const payee = ctx.processor('mno-b');
      payee.child.kill('SIGSTOP');
      let p;
      try {
        p = await c.wallet.submit(approval);
        expect(p.status === 'PENDING', `while the payee is silent the payment is ${p.status}`);
        const reserved = await c.wallet.me();
        expect(reserved.available.value === '2500', `reserved: available ${reserved.available.value}`);
        p = await c.wallet.waitFinal(p.paymentId);
      } finally {
        payee.child.kill('SIGCONT');
      }
      await ctx.settled();
      const me = await c.wallet.me();
      expect(p.status === 'FAILED' && p.error === 'TRANSFER_EXPIRED', `got ${p.status} ${p.error ?? ''}`);
      expect(me.available.value === '4000' && me.balance.value === '4000', 'reservation not voided');
      expect(
        (await m.client.request(req.id)).payments.every((x) => x.status !== 'COMPLETED'),
        'merchant was paid',
      );
      return `payee stopped → PENDING with 15.00 reserved → ${p.error}; reservation voided`;
    },
  },
  {
    name: 'SMS payment: PAY <code> then PIN',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 100_00n);
      const m = await ctx.merchant('mno-b', 'Café Central');
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(12_50n), reference: 'sms-1' });
      const gw = operatorGateway(ctx, 'bank-a');
      const ask = await gw.sms(c.phone, `PAY ${req.shortCode}`);
      expect(
        /^Pay 12\.50 EUR to Cafe Central, Wien .*PIN within 2 minutes/.test(ask),
        `PAY answered: ${ask}`,
      );
      expect((await c.wallet.balance()) === 100_00n, 'charged before the PIN');
      const done = await gw.sms(c.phone, '1234');
      expect(/^Paid 12\.50 EUR to Cafe Central, Wien\. Receipt rct_/.test(done), `PIN answered: ${done}`);
      const again = await gw.sms(c.phone, '1234');
      expect(/No payment is waiting/.test(again), `second PIN answered: ${again}`);
      const bal = await c.wallet.balance();
      expect(bal === 87_50n, `customer balance ${bal}`);
      const paidStatus = await eventually(
        async () => (await m.client.request(req.id)).status,
        'PAID',
        15_000,
      );
      expect(paidStatus === 'PAID', 'request not paid');
      expect(
        (await eventually(() => ctx.merchantBalance('mno-b', m), 12_50n, 15_000)) === 12_50n,
        'merchant not paid 12.50',
      );
      const texts = await gw.texts(c.phone);
      expect(texts.length === 6, `${texts.length} texts stored`);
      expect(!texts.some((x) => /(^|\D)1234(\D|$)/.test(x.text)), 'the PIN appears in a stored SMS');
      expect(texts.filter((x) => x.direction === 'in' && x.text === '****').length === 2, 'PIN not redacted');
      return `PAY ${req.shortCode} → "${ask.slice(0, 40)}…"; PIN → paid 12.50 EUR bank-a → mno-b; ${texts.length} texts stored, PIN in none`;
    },
  },
  {
    name: 'USSD payment: pay merchant by code',
    async run(ctx) {
      const c = await ctx.customer('mno-b', 50_00n);
      const m = await ctx.merchant('bank-a', 'Ticket Office');
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(7_80n), reference: 'ussd-1' });
      const gw = operatorGateway(ctx, 'mno-b');
      const session = `scenario-${Date.now()}`;
      const screens: string[] = [];
      for (const text of ['', '2', `2*${req.shortCode}`, `2*${req.shortCode}*1234`]) {
        screens.push(await gw.ussd(session, c.phone, text));
      }
      const [menu, askCode, confirm, done] = screens;
      expect(menu?.startsWith('CON ') && menu.includes('2 Pay merchant'), `menu: ${menu}`);
      expect(askCode === 'CON Enter merchant code:\n0 Back', `code screen: ${askCode}`);
      expect(confirm?.startsWith('CON Pay 7.80 EUR to Ticket Office, Wien?'), `confirm screen: ${confirm}`);
      expect(
        /^END Paid 7\.80 EUR to Ticket Office, Wien\. Receipt rct_/.test(done ?? ''),
        `final screen: ${done}`,
      );
      expect(
        screens.every((x) => [...x].length <= 160),
        'a screen is longer than 160 characters',
      );
      expect(!screens.some((x) => x.includes('1234')), 'a screen shows the PIN');
      const retry = await gw.ussd(session, c.phone, `2*${req.shortCode}*1234`);
      expect(retry === done, `gateway retry answered: ${retry}`);
      const bal = await c.wallet.balance();
      expect(bal === 42_20n, `customer balance ${bal}`);
      const paidStatus = await eventually(
        async () => (await m.client.request(req.id)).status,
        'PAID',
        15_000,
      );
      expect(paidStatus === 'PAID', 'request not paid');
      expect(
        (await eventually(() => ctx.merchantBalance('bank-a', m), 7_80n, 15_000)) === 7_80n,
        'merchant not paid 7.80',
      );
      return `*384# → 2 → ${req.shortCode} → PIN: paid 7.80 EUR mno-b → bank-a in 4 screens (≤160 chars, PIN never shown); retry paid nothing more`;
    },
  },
  {
    name: 'P2P: send to a phone number at another processor (masked name shown)',
    async run(ctx) {
      const payer = await ctx.customer('bank-a', 50_00n, 'Anna Berger');
      const payee = await ctx.customer('mno-b', 0n, 'Jane Doe');
      const shown = await waitFor(() => payer.wallet.p2pResolve(payee.phone));
      expect(shown.kind === 'p2p', `kind ${shown.kind}`);
      expect(shown.merchant.name === 'J*** D***', `payer sees ${shown.merchant.name}`);
      expect(shown.processorId === 'mno-b' && shown.amount === undefined, 'payer should enter the amount');
      const paid = await payer.wallet.submit(
        await payer.wallet.approval(shown, '1234', { amount: eur(12_50n) }),
      );
      expect(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      expect((await payer.wallet.balance()) === 37_50n, 'payer not debited 12.50');
      const got = await eventually(() => payee.wallet.balance(), 12_50n);
      expect(got === 12_50n, `payee credited ${got}, not 12.50`);
      const notes = await payee.wallet.notifications();
      expect(
        notes.some((n) => n.kind === 'payment.received' && n.amount?.value === '1250'),
        'payee was not notified',
      );
      return `bank-a → mno-b by phone; payer saw "${shown.merchant.name}"; payee notified: "${notes[0]?.text}"`;
    },
  },
  {
    name: 'P2P: send inside one processor',
    async run(ctx) {
      const payer = await ctx.customer('bank-a', 20_00n, 'Otto Meier');
      const payee = await ctx.customer('bank-a', 0n, 'Lisa Maria Huber');
      const { address } = await payee.wallet.setAlias(`lisa${Date.now() % 100000}`);
      const byAlias = await payer.wallet.p2pResolve(address);
      expect(byAlias.merchant.name === 'L*** M*** H***', `payer sees ${byAlias.merchant.name}`);
      const paid = await payer.wallet.submit(
        await payer.wallet.approval(byAlias, '1234', { amount: eur(5_00n) }),
      );
      expect(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      const self = await codeOf(payer.wallet.p2pResolve(payer.phone));
      expect(self === 'VALIDATION_FAILED', `sending to oneself gave ${self}`);
      expect((await payee.wallet.balance()) === 5_00n, 'payee not credited');
      expect((await payer.wallet.balance()) === 15_00n, 'payer not debited');
      return `5.00 EUR to ${address} (shown "${byAlias.merchant.name}"); to oneself → ${self}`;
    },
  },
  {
    name: 'request money: payer approves from the inbox',
    async run(ctx) {
      const requester = await ctx.customer('mno-b', 0n, 'Clara Fischer');
      const payer = await ctx.customer('bank-a', 30_00n, 'Paul Wagner');
      const sent = await waitFor(() => requester.wallet.requestMoney(payer.phone, eur(8_40n), 'pizza'));
      expect(sent.status === 'SENT', `request ${sent.status}`);
      const [item] = await payer.wallet.inbox();
      expect(item?.status === 'OPEN' && item.from === 'C*** F***', `inbox ${JSON.stringify(item)}`);
      expect(item.amount.value === '840' && item.note === 'pizza', 'wrong amount or note');
      const paid = await payer.wallet.pay(item.code, '1234');
      expect(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      expect((await payer.wallet.inbox())[0]?.status === 'PAID', 'inbox item not PAID');
      expect((await eventually(() => requester.wallet.balance(), 8_40n)) === 8_40n, 'requester not credited');
      const again = await codeOf(payer.wallet.pay(item.code, '1234'));
      expect(again === 'REQUEST_ALREADY_PAID', `paying twice gave ${again}`);
      return `mno-b customer asked bank-a customer for 8.40 EUR; paid from the inbox; twice → ${again}`;
    },
  },
  {
    name: 'request money: payer declines, nothing moves',
    async run(ctx) {
      const requester = await ctx.customer('bank-a', 0n, 'Eva Schmid');
      const payer = await ctx.customer('mno-b', 30_00n, 'Max Gruber');
      await waitFor(() => requester.wallet.requestMoney(payer.phone, eur(3_00n)));
      const [item] = await payer.wallet.inbox();
      expect(item?.status === 'OPEN', 'nothing in the inbox');
      const declined = await payer.wallet.decline(item.id);
      expect(declined.status === 'DECLINED', `decline gave ${declined.status}`);
      const pay = await codeOf(payer.wallet.pay(item.code, '1234'));
      expect(pay === 'REQUEST_CANCELLED', `paying a declined request gave ${pay}`);
      expect((await payer.wallet.balance()) === 30_00n, 'payer balance changed');
      expect((await requester.wallet.balance()) === 0n, 'requester balance changed');
      return `declined; paying afterwards → ${pay}; balances unchanged`;
    },
  },
  {
    name: 'refund: two partial refunds of a cross-processor payment, then one too many is refused',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 50_00n, 'Rita Refund');
      const m = await ctx.merchant('mno-b', 'Schuh Haus');
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(20_00n), reference: 'shoes' });
      const paid = await c.wallet.pay(req.qr, '1234');
      expect(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      // The merchant's processor commits when the hub's notification arrives.
      await eventually(async () => (await m.client.request(req.id)).status, 'PAID');
      const r1 = await m.client.refund(paid.paymentId, eur(5_00n), `r1-${paid.paymentId}`);
      const r1again = await m.client.refund(paid.paymentId, eur(5_00n), `r1-${paid.paymentId}`);
      const r2 = await m.client.refund(paid.paymentId, eur(10_00n));
      expect(
        r1.status === 'COMPLETED' && r2.status === 'COMPLETED',
        `refunds ${r1.status} ${r1.error ?? ''}, ${r2.status} ${r2.error ?? ''}`,
      );
      expect(r1again.refundId === r1.refundId, 'the idempotency key did not return the same refund');
      const tooMuch = await codeOf(m.client.refund(paid.paymentId, eur(5_01n)));
      expect(tooMuch === 'REFUND_EXCEEDS_PAYMENT', `refunding beyond the payment gave ${tooMuch}`);
      const bal = await eventually(() => c.wallet.balance(), 45_00n);
      expect(bal === 45_00n, `customer balance ${bal}`);
      const { refunds } = await m.client.refunds(paid.paymentId);
      expect(refunds.length === 2, `${refunds.length} refunds listed`);
      const refundNotes = await eventually(
        async () => (await c.wallet.notifications()).filter((n) => n.kind === 'refund.received').length,
        2,
      );
      expect(refundNotes === 2, `customer notified of ${refundNotes} refunds, not 2`);
      expect(!JSON.stringify(refunds).includes(c.phone), 'the merchant sees the customer');
      return `paid 20.00, refunded 5.00 + 10.00 via the hub; 5.01 more → ${tooMuch}; customer 30.00 → 45.00`;
    },
  },
  {
    name: 'refund: full refund inside one processor',
    async run(ctx) {
      const c = await ctx.customer('bank-a', 10_00n);
      const m = await ctx.merchant('bank-a', 'Buchladen');
      const req = await m.client.createRequest({ currency: 'EUR', amount: eur(7_00n), reference: 'book' });
      const paid = await c.wallet.pay(req.deepLink, '1234');
      expect(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      const r = await m.client.refund(paid.paymentId);
      expect(r.status === 'COMPLETED' && r.amount.value === '700', `refund ${r.status} ${r.amount.value}`);
      expect((await c.wallet.balance()) === 10_00n, 'customer not refunded in full');
      const more = await codeOf(m.client.refund(paid.paymentId));
      expect(more === 'REFUND_EXCEEDS_PAYMENT', `a second full refund gave ${more}`);
      return `7.00 paid and refunded in full at bank-a; again → ${more}`;
    },
  },
  ...USE_CASE_SCENARIOS,
  ...ACCOUNT_SCENARIOS,
  ...AGENT_SCENARIOS,
  ...MANDATE_SCENARIOS,
  ...BILL_SCENARIOS,
  // Last: they close the settlement window that holds every earlier scenario's transfers and reconcile it.
  ...CROSS_BORDER_SCENARIOS,
];

/**
 * The operator's SMS and USSD gateway as a scenario drives it: the processor's webhooks, authenticated
 * with the gateway secret from the processor's data directory, and the operator's list of stored texts.
 */
function operatorGateway(ctx: Ctx, processorId: string) {
  const p = ctx.processor(processorId);
  const token = readFileSync(join(p.dataDir, 'secrets', 'sms-gateway-token.secret'), 'utf8').trim();
  const headers = { 'x-gateway-token': token };
  return {
    async sms(from: string, text: string): Promise<string> {
      const r = await call<{ replies?: string[] }>('POST', `${p.url}/v1/channels/sms/inbound`, {
        headers,
        body: { from, to: '22555', text },
      });
      expect(r.status === 200, `SMS webhook answered ${r.status}`);
      return r.body.replies?.[0] ?? '';
    },
    async ussd(sessionId: string, phoneNumber: string, text: string): Promise<string> {
      const r = await call<string>('POST', `${p.url}/v1/channels/ussd`, {
        headers,
        body: { sessionId, serviceCode: '*384#', phoneNumber, text },
      });
      expect(r.status === 200 && typeof r.body === 'string', `USSD webhook answered ${r.status}`);
      return r.body;
    },
    async texts(phone: string): Promise<Array<{ direction: string; text: string }>> {
      const r = await call<{ messages: Array<{ direction: string; text: string }> }>(
        'GET',
        `${p.url}/v1/admin/sms?phone=${encodeURIComponent(phone)}&limit=500`,
        { token: p.adminToken },
      );
      return r.body.messages;
    },
  };
}

/** Runs every scenario against a fresh network in a temporary directory. */
export async function runScenarios(
  opts: {
    only?: string;
    keep?: boolean;
    /** Run every node on this PostgreSQL database (fresh schemas, dropped afterwards unless `keep`). */
    postgres?: string;
    onResult?: (r: ScenarioResult) => void;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'semops-scenarios-'));
  const schemaPrefix = `scn_${Date.now().toString(36)}_`;
  const net = await startNetwork({
    dir,
    transferTtlMs: 3000,
    ...(opts.postgres ? { databaseUrl: opts.postgres, schemaPrefix } : {}),
  });
  const ctx = new Ctx(net);
  const results: ScenarioResult[] = [];
  try {
    for (const s of SCENARIOS) {
      if (opts.only && !s.name.includes(opts.only)) continue;
      const t0 = Date.now();
      let ok = true;
      let detail: string;
      try {
        detail = await s.run(ctx);
        await ctx.settled();
        const broken = await ctx.conservation();
        if (broken) {
          ok = false;
          detail = `money not conserved: ${broken}`;
        }
      } catch (e) {
        ok = false;
        detail =
          e instanceof Error ? `${e.name === 'ScenarioFailure' ? '' : `${e.name}: `}${e.message}` : String(e);
      }
      const r = { name: s.name, ok, ms: Date.now() - t0, detail };
      results.push(r);
      opts.onResult?.(r);
    }
  } finally {
    await net.stop();
    if (!opts.keep) {
      rmSync(dir, { recursive: true, force: true });
      if (opts.postgres) await dropSchemas(opts.postgres, schemaPrefix);
    }
  }
  return results;
}

/** Drops the schemas a PostgreSQL scenario (or bench) run created: every one whose name starts with `prefix`. */
export async function dropSchemas(url: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
      [schemaName(prefix)],
    );
    for (const r of rows) await client.query(`DROP SCHEMA "${r.nspname}" CASCADE`);
  } finally {
    await client.end();
  }
}
