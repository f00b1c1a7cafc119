/**
 * Steps scenarios repeat: amounts in euro, the payee side catching up with a payment, and a whole purchase
 * from scan to signed receipt.
 */
import type { CreateRequestInput, PaymentRequest } from '@semops/merchant-sdk';
import { RECEIPT_TYP, formatMoney, importSigningKey, verifyJson, type MoneyWire } from '@semops/protocol';
import type { Ctx, TestCustomer, TestMerchant } from './harness.js';
import { check } from './scenario.js';
import { waitUntil } from './wait.js';

export const eur = (value: bigint): MoneyWire => ({ value: value.toString(), currency: 'EUR' });
export const showEur = (value: bigint): string => formatMoney({ value, currency: 'EUR' });

/** What most scenarios start from: a customer with money, a merchant and its open payment request. */
export interface Sale {
  readonly c: TestCustomer;
  readonly m: TestMerchant;
  readonly req: PaymentRequest;
}

/**
 * A new customer at `payer` with `balance` deposited, a new merchant at `payee` (named `merchantName`) and
 * the payment request it made from `request`.
 *
 * @example
 * const { c, m, req } = await sale(ctx, 'bank-a', 30_00n, 'mno-b', { currency: 'EUR', amount: eur(5_00n), reference: 'r' });
 */
export async function sale(
  ctx: Ctx,
  payer: string,
  balance: bigint,
  payee: string,
  request: CreateRequestInput & { currency: string },
  merchantName?: string,
): Promise<Sale> {
  const c = await ctx.customer(payer, balance);
  const m = await ctx.merchant(payee, merchantName);
  const req = await m.client.createRequest(request);
  return { c, m, req };
}

/**
 * Checks that the merchant's request is (or soon becomes) PAID: the payee processor books a payment when the
 * hub's notification arrives, a moment after the payer's answer.
 */
export async function checkRequestPaid(m: TestMerchant, requestId: string): Promise<void> {
  const r = await waitUntil(
    () => m.client.request(requestId),
    (x) => x.status === 'PAID',
  );
  check(r.status === 'PAID', `request is ${r.status}`);
}

/** Checks that the merchant has (or soon has) received exactly `amount` in completed payments. */
export async function checkMerchantReceived(ctx: Ctx, m: TestMerchant, amount: bigint): Promise<void> {
  const got = await waitUntil(
    () => ctx.merchantBalance(m),
    (x) => x === amount,
  );
  check(got === amount, `merchant received ${got}, not ${amount}`);
}

/** True when `receipt` is signed by `payee`'s key and names `payee`. */
export async function receiptSignedBy(
  ctx: Ctx,
  receipt: string | undefined,
  payee: string,
): Promise<boolean> {
  if (!receipt) return false;
  const info = await ctx.processor(payee).admin.info();
  const payload = (await verifyJson(receipt, await importSigningKey(info.signingKey), RECEIPT_TYP)) as {
    processorId: string;
  };
  return payload.processorId === payee;
}

/** A new customer at `payer` buys for `amount` from a new merchant at `payee`, and everyone's books agree. */
export async function purchase(ctx: Ctx, payer: string, payee: string, amount: bigint): Promise<string> {
  const request = { currency: 'EUR', amount: eur(amount), reference: 'order-1' };
  const { c, m, req } = await sale(ctx, payer, 100_00n, payee, request, 'Café Central');
  const t0 = Date.now();
  const paid = await c.wallet.pay(req.qr, '1234');
  const ms = Date.now() - t0;
  check(paid.status === 'COMPLETED', `payment ${paid.status} ${paid.error ?? ''}`);
  check(await receiptSignedBy(ctx, paid.receipt, payee), 'receipt is not signed by the payee processor');
  const bal = await c.wallet.balance();
  check(bal === 100_00n - amount, `customer balance ${bal}`);
  await checkRequestPaid(m, req.id);
  await checkMerchantReceived(ctx, m, amount);
  return `${showEur(amount)} ${payer} → ${payee} in ${ms} ms; customer ${showEur(100_00n)} → ${showEur(bal)}; receipt signed by ${payee}`;
}
