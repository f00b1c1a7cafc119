/**
 * Payments between a customer and a merchant: across processors and inside one, payer-entered amounts, and
 * everything that must be refused with nothing moved (funds, PIN, expiry, replay, tampering, the hub's cap,
 * a payee that never answers).
 */
import type { MoneyWire } from '@semops/protocol';
import { codeOf } from '../http.js';
import { check, checkMerchantReceived, eur, purchase, sale, sleep, type Scenario } from '../testkit/index.js';

export const PAYMENT_SCENARIOS: readonly Scenario[] = [
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
      const { c, req } = await sale(
        ctx,
        'bank-a',
        50_00n,
        'mno-b',
        {
          currency: 'EUR',
          minAmount: eur(1_00n),
          maxAmount: eur(20_00n),
          reference: 'zone-1',
          reusable: true,
        },
        'Parking Zone 1',
      );
      const p = await c.wallet.pay(req.shortCode, '1234', eur(4_50n));
      check(p.status === 'COMPLETED', `payment ${p.status} ${p.error ?? ''}`);
      check((await c.wallet.balance()) === 45_50n, 'customer not debited 4.50');
      return `paid 4.50 EUR by typing code ${req.shortCode} (range 1.00–20.00)`;
    },
  },
  {
    name: 'payer-entered amount outside min/max is refused, nothing moves',
    async run(ctx) {
      const { c, req } = await sale(ctx, 'bank-a', 50_00n, 'mno-b', {
        currency: 'EUR',
        minAmount: eur(1_00n),
        maxAmount: eur(20_00n),
        reference: 'r',
      });
      const r = await c.wallet.resolve(req.deepLink);
      const low = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234', { amount: eur(50n) })));
      const high = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234', { amount: eur(25_00n) })));
      check(low === 'AMOUNT_OUT_OF_RANGE' && high === 'AMOUNT_OUT_OF_RANGE', `got ${low}, ${high}`);
      check((await c.wallet.balance()) === 50_00n, 'balance changed');
      return `0.50 → ${low}, 25.00 → ${high}; balance unchanged`;
    },
  },
  {
    name: 'insufficient funds is refused with nothing reserved',
    async run(ctx) {
      const { c, m, req } = await sale(ctx, 'bank-a', 5_00n, 'mno-b', {
        currency: 'EUR',
        amount: eur(9_99n),
        reference: 'too-much',
      });
      const code = await codeOf(c.wallet.pay(req.token, '1234'));
      check(code === 'INSUFFICIENT_FUNDS', `got ${code}`);
      const me = await c.wallet.me();
      check(me.available.value === '500' && me.balance.value === '500', 'funds were touched');
      const again = await m.client.request(req.id);
      check(again.status === 'OPEN', 'request should stay open');
      return `9.99 EUR with 5.00 EUR → ${code}; available still 5.00`;
    },
  },
  {
    name: 'wrong PIN three times locks the PIN',
    async run(ctx) {
      const { c, req } = await sale(ctx, 'mno-b', 20_00n, 'bank-a', {
        currency: 'EUR',
        amount: eur(1_00n),
        reference: 'pin',
      });
      const r = await c.wallet.resolve(req.qr);
      const codes: string[] = [];
      for (let i = 0; i < 3; i++)
        codes.push(await codeOf(c.wallet.submit(await c.wallet.approval(r, '9999'))));
      const right = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234')));
      check(codes.join() === 'PIN_INVALID,PIN_INVALID,PIN_LOCKED', `got ${codes.join()}`);
      check(right === 'PIN_LOCKED', `correct PIN after lock gave ${right}`);
      check((await c.wallet.balance()) === 20_00n, 'balance changed');
      await ctx.processor('mno-b').admin.unlock(c.customerId);
      const after = await c.wallet.submit(await c.wallet.approval(r, '1234'));
      check(after.status === 'COMPLETED', 'operator unlock did not restore payments');
      return `${codes.join(' → ')}; right PIN then ${right}; operator unlock → payment ok`;
    },
  },
  {
    name: 'expired request is refused',
    async run(ctx) {
      const { c, m, req } = await sale(ctx, 'bank-a', 10_00n, 'mno-b', {
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
      check(approve === 'REQUEST_EXPIRED' && resolve === 'REQUEST_EXPIRED', `got ${approve}, ${resolve}`);
      check(status === 'EXPIRED', `request is ${status}`);
      check((await c.wallet.balance()) === 10_00n, 'balance changed');
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
      check(paid === 1, `${paid} payments completed: ${results.join()}`);
      check(
        debited === 1 && balances.every((b) => b === 20_00n || b === 30_00n),
        `balances ${balances.join()}`,
      );
      await checkMerchantReceived(ctx, m, 10_00n);
      return `three payers at once → ${results.join(', ')}`;
    },
  },
  {
    name: 'replayed approval is rejected',
    async run(ctx) {
      const { c, req } = await sale(
        ctx,
        'bank-a',
        30_00n,
        'mno-b',
        { currency: 'EUR', amount: eur(2_00n), reference: 'snack', reusable: true },
        'Vending 7',
      );
      const approval = await c.wallet.approval(await c.wallet.resolve(req.qr), '1234');
      const first = await c.wallet.submit(approval);
      const again = await codeOf(c.wallet.submit(approval));
      check(first.status === 'COMPLETED', `first ${first.status}`);
      check(again === 'APPROVAL_REPLAYED', `replay gave ${again}`);
      check((await c.wallet.balance()) === 28_00n, 'charged more than once');
      return `first → COMPLETED, same approval again → ${again}; charged once`;
    },
  },
  {
    name: 'approval with altered amount, payee or signature is rejected',
    async run(ctx) {
      const { c, m, req } = await sale(ctx, 'bank-a', 30_00n, 'mno-b', {
        currency: 'EUR',
        amount: eur(5_00n),
        reference: 'tamper',
      });
      const r = await c.wallet.resolve(req.qr);
      const amount = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234', { amount: eur(1n) })));
      const payee = await codeOf(c.wallet.submit(await c.wallet.approval(r, '1234', { payee: 'bank-a' })));
      const good = await c.wallet.approval(r, '1234');
      const [h, p, s] = good.split('.');
      const body = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { amount: MoneyWire };
      body.amount = eur(1n);
      const forged = `${h}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${s}`;
      const sig = await codeOf(c.wallet.submit(forged));
      check(amount === 'AMOUNT_MISMATCH', `amount → ${amount}`);
      check(payee === 'PAYEE_MISMATCH', `payee → ${payee}`);
      check(sig === 'APPROVAL_INVALID', `forged → ${sig}`);
      check((await c.wallet.balance()) === 30_00n, 'balance changed');
      check((await m.client.request(req.id)).status === 'OPEN', 'request no longer open');
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
        const { c, req } = await sale(ctx, 'bank-a', 100_00n, 'mno-b', {
          currency: 'EUR',
          amount: eur(50_00n),
          reference: 'big',
        });
        const p = await c.wallet.pay(req.qr, '1234');
        const me = await c.wallet.me();
        const pos = (await hub.positions()).find((x) => x.processorId === 'bank-a')!;
        check(
          p.status === 'FAILED' && p.error === 'NET_DEBIT_CAP_EXCEEDED',
          `got ${p.status} ${p.error ?? ''}`,
        );
        check(me.available.value === '10000', `customer available ${me.available.value}`);
        check(pos.reserved === '0', `hub reserved ${pos.reserved}`);
        return `50.00 EUR with 20.00 EUR liquidity left → ${p.error}; nothing reserved`;
      } finally {
        await hub.liquidity('bank-a', eur(cut), 'deposit');
      }
    },
  },
  {
    name: 'payee that never answers: aborted at expiry, reservation voided',
    async run(ctx) {
      const { c, m, req } = await sale(ctx, 'bank-a', 40_00n, 'mno-b', {
        currency: 'EUR',
        amount: eur(15_00n),
        reference: 'silent',
      });
      const approval = await c.wallet.approval(await c.wallet.resolve(req.qr), '1234');
      const payee = ctx.processor('mno-b');
      payee.child.kill('SIGSTOP');
      let p;
      try {
        p = await c.wallet.submit(approval);
        check(p.status === 'PENDING', `while the payee is silent the payment is ${p.status}`);
        const reserved = await c.wallet.me();
        check(reserved.available.value === '2500', `reserved: available ${reserved.available.value}`);
        p = await c.wallet.waitFinal(p.paymentId);
      } finally {
        payee.child.kill('SIGCONT');
      }
      await ctx.settled();
      const me = await c.wallet.me();
      check(p.status === 'FAILED' && p.error === 'TRANSFER_EXPIRED', `got ${p.status} ${p.error ?? ''}`);
      check(me.available.value === '4000' && me.balance.value === '4000', 'reservation not voided');
      check(
        (await m.client.request(req.id)).payments.every((x) => x.status !== 'COMPLETED'),
        'merchant was paid',
      );
      return `payee stopped → PENDING with 15.00 reserved → ${p.error}; reservation voided`;
    },
  },
];
