/**
 * Client calls for bill payment and airtime top-up: register a biller (operator), resolve a bill or an
 * airtime top-up (customer), list a biller's payments with their account references (biller).
 */
import type { MoneyWire } from '@semops/protocol';
import type { ProcessorAdmin } from './clients-admin.js';
import type { ResolvedRequest, Wallet } from './clients-wallet.js';
import { json } from './http.js';

export interface BillerView {
  billerCode: string;
  merchantId: string;
  name: string;
  accountPattern?: string;
  minAmount?: string;
  maxAmount?: string;
}

export interface BillerPayment {
  paymentId: string;
  requestId: string;
  account: string;
  amount: MoneyWire;
  createdAt: number;
}

export interface AirtimeTopup {
  paymentId: string;
  phone: string;
  amount: MoneyWire;
  createdAt: number;
}

export function registerBiller(
  admin: ProcessorAdmin,
  input: {
    merchantId: string;
    billerCode: string;
    accountPattern?: string;
    minAmount?: string;
    maxAmount?: string;
  },
) {
  return json<BillerView>('POST', `${admin.url}/v1/admin/billers`, { token: admin.token, body: input });
}

export function resolveBill(w: Wallet, input: { billerCode: string; account: string; amount?: MoneyWire }) {
  return json<ResolvedRequest & { kind: 'bill'; billerCode: string; account: string; description?: string }>(
    'POST',
    `${w.url}/v1/wallet/bills/resolve`,
    { token: w.accessToken, body: input },
  );
}

export function resolveAirtime(w: Wallet, phone: string, amount: MoneyWire) {
  return json<ResolvedRequest & { kind: 'airtime'; display: string; description?: string }>(
    'POST',
    `${w.url}/v1/wallet/airtime`,
    { token: w.accessToken, body: { phone, amount } },
  );
}

/** Resolve a bill, approve with PIN and submit. */
export async function payBill(
  w: Wallet,
  input: { billerCode: string; account: string; amount: MoneyWire },
  pin: string,
) {
  const r = await resolveBill(w, input);
  return { resolved: r, payment: await w.submit(await w.approval(r, pin, { amount: input.amount })) };
}

/** Resolve an airtime top-up, approve with PIN and submit. */
export async function buyAirtime(w: Wallet, phone: string, amount: MoneyWire, pin: string) {
  const r = await resolveAirtime(w, phone, amount);
  return { resolved: r, payment: await w.submit(await w.approval(r, pin, { amount })) };
}

export function billerPayments(url: string, apiKey: string) {
  return json<{ payments: BillerPayment[] }>('GET', `${url}/v1/biller/payments`, { token: apiKey });
}

export function airtimeTopups(admin: ProcessorAdmin) {
  return json<{ topups: AirtimeTopup[] }>('GET', `${admin.url}/v1/admin/airtime-topups`, {
    token: admin.token,
  });
}
