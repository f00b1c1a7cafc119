/**
 * Between people and back: P2P sends by phone number or alias, money requests approved or declined from the
 * inbox, and merchant refunds.
 */
import { codeOf } from '../http.js';
import {
  check,
  checkRequestPaid,
  eur,
  sale,
  untilAliasKnown,
  waitUntil,
  type Scenario,
} from '../testkit/index.js';

export const P2P_SCENARIOS: readonly Scenario[] = [
  {
    name: "P2P: send to a phone number at another processor (the payee's short name shown)",
    async run(ctx) {
      const payer = await ctx.customer('bank-a', 50_00n, 'Anna Berger');
      const payee = await ctx.customer('mno-b', 0n, 'Jane Doe');
      const shown = await untilAliasKnown(() => payer.wallet.p2pResolve(payee.phone));
      check(shown.kind === 'p2p', `kind ${shown.kind}`);
      check(shown.merchant.name === 'Jane D.', `payer sees ${shown.merchant.name}`);
      check(shown.processorId === 'mno-b' && shown.amount === undefined, 'payer should enter the amount');
      const paid = await payer.wallet.submit(
        await payer.wallet.approval(shown, '1234', { amount: eur(12_50n) }),
      );
      check(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      check((await payer.wallet.balance()) === 37_50n, 'payer not debited 12.50');
      const got = await waitUntil(
        () => payee.wallet.balance(),
        (x) => x === 12_50n,
      );
      check(got === 12_50n, `payee credited ${got}, not 12.50`);
      const notes = await payee.wallet.notifications();
      check(
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
      check(byAlias.merchant.name === 'Lisa H.', `payer sees ${byAlias.merchant.name}`);
      const paid = await payer.wallet.submit(
        await payer.wallet.approval(byAlias, '1234', { amount: eur(5_00n) }),
      );
      check(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      const self = await codeOf(payer.wallet.p2pResolve(payer.phone));
      check(self === 'VALIDATION_FAILED', `sending to oneself gave ${self}`);
      check((await payee.wallet.balance()) === 5_00n, 'payee not credited');
      check((await payer.wallet.balance()) === 15_00n, 'payer not debited');
      return `5.00 EUR to ${address} (shown "${byAlias.merchant.name}"); to oneself → ${self}`;
    },
  },
  {
    name: 'request money: payer approves from the inbox',
    async run(ctx) {
      const requester = await ctx.customer('mno-b', 0n, 'Clara Fischer');
      const payer = await ctx.customer('bank-a', 30_00n, 'Paul Wagner');
      const sent = await untilAliasKnown(() =>
        requester.wallet.requestMoney(payer.phone, eur(8_40n), 'pizza'),
      );
      check(sent.status === 'SENT', `request ${sent.status}`);
      const [item] = await payer.wallet.inbox();
      check(item?.status === 'OPEN' && item.from === 'Clara F.', `inbox ${JSON.stringify(item)}`);
      check(item.amount.value === '840' && item.note === 'pizza', 'wrong amount or note');
      const paid = await payer.wallet.pay(item.code, '1234');
      check(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      check((await payer.wallet.inbox())[0]?.status === 'PAID', 'inbox item not PAID');
      const credited = await waitUntil(
        () => requester.wallet.balance(),
        (x) => x === 8_40n,
      );
      check(credited === 8_40n, `requester credited ${credited}, not 8.40`);
      const again = await codeOf(payer.wallet.pay(item.code, '1234'));
      check(again === 'REQUEST_ALREADY_PAID', `paying twice gave ${again}`);
      return `mno-b customer asked bank-a customer for 8.40 EUR; paid from the inbox; twice → ${again}`;
    },
  },
  {
    name: 'request money: payer declines, nothing moves',
    async run(ctx) {
      const requester = await ctx.customer('bank-a', 0n, 'Eva Schmid');
      const payer = await ctx.customer('mno-b', 30_00n, 'Max Gruber');
      await untilAliasKnown(() => requester.wallet.requestMoney(payer.phone, eur(3_00n)));
      const [item] = await payer.wallet.inbox();
      check(item?.status === 'OPEN', 'nothing in the inbox');
      const declined = await payer.wallet.decline(item.id);
      check(declined.status === 'DECLINED', `decline gave ${declined.status}`);
      const pay = await codeOf(payer.wallet.pay(item.code, '1234'));
      check(pay === 'REQUEST_CANCELLED', `paying a declined request gave ${pay}`);
      check((await payer.wallet.balance()) === 30_00n, 'payer balance changed');
      check((await requester.wallet.balance()) === 0n, 'requester balance changed');
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
      check(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      // The merchant's processor commits when the hub's notification arrives.
      await checkRequestPaid(m, req.id);
      const r1 = await m.client.refund(paid.paymentId, eur(5_00n), {
        idempotencyKey: `r1-${paid.paymentId}`,
      });
      const r1again = await m.client.refund(paid.paymentId, eur(5_00n), {
        idempotencyKey: `r1-${paid.paymentId}`,
      });
      const r2 = await m.client.refund(paid.paymentId, eur(10_00n));
      check(
        r1.status === 'COMPLETED' && r2.status === 'COMPLETED',
        `refunds ${r1.status} ${r1.error ?? ''}, ${r2.status} ${r2.error ?? ''}`,
      );
      check(r1again.refundId === r1.refundId, 'the idempotency key did not return the same refund');
      const tooMuch = await codeOf(m.client.refund(paid.paymentId, eur(5_01n)));
      check(tooMuch === 'REFUND_EXCEEDS_PAYMENT', `refunding beyond the payment gave ${tooMuch}`);
      const bal = await waitUntil(
        () => c.wallet.balance(),
        (x) => x === 45_00n,
      );
      check(bal === 45_00n, `customer balance ${bal}`);
      const { refunds } = await m.client.refunds(paid.paymentId);
      check(refunds.length === 2, `${refunds.length} refunds listed`);
      const refundNotes = await waitUntil(
        async () => (await c.wallet.notifications()).filter((n) => n.kind === 'refund.received').length,
        (n) => n === 2,
      );
      check(refundNotes === 2, `customer notified of ${refundNotes} refunds, not 2`);
      check(!JSON.stringify(refunds).includes(c.phone), 'the merchant sees the customer');
      return `paid 20.00, refunded 5.00 + 10.00 via the hub; 5.01 more → ${tooMuch}; customer 30.00 → 45.00`;
    },
  },
  {
    name: 'refund: full refund inside one processor',
    async run(ctx) {
      const request = { currency: 'EUR', amount: eur(7_00n), reference: 'book' };
      const { c, m, req } = await sale(ctx, 'bank-a', 10_00n, 'bank-a', request, 'Buchladen');
      const paid = await c.wallet.pay(req.deepLink, '1234');
      check(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
      const r = await m.client.refund(paid.paymentId);
      check(r.status === 'COMPLETED' && r.amount.value === '700', `refund ${r.status} ${r.amount.value}`);
      check((await c.wallet.balance()) === 10_00n, 'customer not refunded in full');
      const more = await codeOf(m.client.refund(paid.paymentId));
      check(more === 'REFUND_EXCEEDS_PAYMENT', `a second full refund gave ${more}`);
      return `7.00 paid and refunded in full at bank-a; again → ${more}`;
    },
  },
];
