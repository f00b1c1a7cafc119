/**
 * Client calls for prepaid e-money and account care: tiers and vouchers (operator), top-up, statement, PIN
 * change, own limits and lost-phone blocking (customer). Functions over a Wallet or ProcessorAdmin.
 */
import { SemopsError, errorFromBody, type MoneyWire } from '@semops/protocol';
import type { ProcessorAdmin } from './clients-admin.js';
import type { Wallet } from './clients-wallet.js';
import { json } from './http.js';

export type CustomerKind = 'bank' | 'emoney';
export type Tier = 0 | 1 | 2 | 3;

export interface LimitsView {
  kind: CustomerKind;
  tier: Tier;
  tierLimits: { maxBalance: string; perTransaction: string; daily: string; monthly: string } | null;
  own: { perTransaction: string | null; daily: string | null };
  effective: {
    perTransaction: string | null;
    daily: string | null;
    monthly: string | null;
    maxBalance: string | null;
  };
}

export interface StatementEntryWire {
  id: string;
  date: string;
  type: 'payment' | 'deposit' | 'refund' | 'p2p';
  direction: 'in' | 'out';
  amount: MoneyWire;
  state: 'posted' | 'pending';
  reference: string | null;
  /** The merchant, person, agent or processor on the other side (`Ben O.`, `Bank A`), when there is one. */
  counterparty: string | null;
  /** The line as a customer reads it: `Cafe Central`, `To Ben O.`, `From Bank A`, `Refund Cafe Central`. */
  description: string;
}

export interface StatementFilter {
  from?: string;
  to?: string;
  type?: StatementEntryWire['type'];
}

// ---- operator ----

export function createCustomerOfKind(
  admin: ProcessorAdmin,
  input: { phone: string; name: string; currency: string; kind?: CustomerKind; tier?: Tier },
) {
  return json<{
    customerId: string;
    accountId: string;
    activationCode: string;
    kind: CustomerKind;
    tier: Tier;
  }>('POST', `${admin.url}/v1/admin/customers`, { token: admin.token, body: input });
}

export function setTier(
  admin: ProcessorAdmin,
  customerId: string,
  body: { tier?: Tier; kind?: CustomerKind },
) {
  return json<LimitsView>('POST', `${admin.url}/v1/admin/customers/${customerId}/tier`, {
    token: admin.token,
    body,
  });
}

export function createVouchers(admin: ProcessorAdmin, amount: bigint, count: number, currency?: string) {
  return json<{ batchId: string; amount: MoneyWire; codes: string[] }>(
    'POST',
    `${admin.url}/v1/admin/vouchers`,
    {
      token: admin.token,
      body: { amount: amount.toString(), count, ...(currency ? { currency } : {}) },
    },
  );
}

export function blockDevices(admin: ProcessorAdmin, customerId: string) {
  return json<{ blocked: string[] }>('POST', `${admin.url}/v1/admin/customers/${customerId}/block-devices`, {
    token: admin.token,
  });
}

export function reissueActivation(admin: ProcessorAdmin, customerId: string) {
  return json<{ activationCode: string }>(
    'POST',
    `${admin.url}/v1/admin/customers/${customerId}/activation`,
    {
      token: admin.token,
    },
  );
}

// ---- customer ----

export function topUp(wallet: Wallet, code: string) {
  return json<{ topUp: MoneyWire; balance: MoneyWire }>('POST', `${wallet.url}/v1/wallet/topup`, {
    token: wallet.accessToken,
    body: { code },
  });
}

function statementQuery(filter: StatementFilter, format: 'json' | 'csv'): string {
  const p = new URLSearchParams();
  if (filter.from) p.set('from', filter.from);
  if (filter.to) p.set('to', filter.to);
  if (filter.type) p.set('type', filter.type);
  p.set('format', format);
  return p.toString();
}

export function statement(wallet: Wallet, filter: StatementFilter = {}) {
  return json<{ currency: string; entries: StatementEntryWire[] }>(
    'GET',
    `${wallet.url}/v1/wallet/statement?${statementQuery(filter, 'json')}`,
    { token: wallet.accessToken },
  );
}

/** The statement as CSV text, with the answer's content type. */
export async function statementCsv(
  wallet: Wallet,
  filter: StatementFilter = {},
): Promise<{ contentType: string; csv: string }> {
  const res = await fetch(`${wallet.url}/v1/wallet/statement?${statementQuery(filter, 'csv')}`, {
    headers: { authorization: `Bearer ${wallet.accessToken}` },
  });
  const text = await res.text();
  if (!res.ok) {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    throw errorFromBody(body, res.status);
  }
  return { contentType: res.headers.get('content-type') ?? '', csv: text };
}

/** Changes the PIN: a device-signed action with the current PIN, the new PIN sealed inside. */
export async function changePin(wallet: Wallet, oldPin: string, newPin: string) {
  return json<{ ok: true }>('POST', `${wallet.url}/v1/wallet/pin`, {
    token: wallet.accessToken,
    body: { action: await wallet.action('pin.change', oldPin, { new: await wallet.sealPin(newPin) }) },
  });
}

export function limits(wallet: Wallet) {
  return json<LimitsView>('GET', `${wallet.url}/v1/wallet/limits`, { token: wallet.accessToken });
}

/** Sets the customer's own limits within the tier (needs the PIN). */
export async function setOwnLimits(
  wallet: Wallet,
  body: { perTransaction?: string | null; daily?: string | null },
  pin = '1234',
) {
  return json<LimitsView>('PUT', `${wallet.url}/v1/wallet/limits`, {
    token: wallet.accessToken,
    body: { action: await wallet.action('limits.set', pin, body) },
  });
}

/** A new activation code for another device, asked from this one with the PIN. */
export async function newActivation(wallet: Wallet, pin = '1234') {
  return json<{ activationCode: string }>('POST', `${wallet.url}/v1/wallet/devices/new-activation`, {
    token: wallet.accessToken,
    body: { action: await wallet.action('device.new-activation', pin) },
  });
}

/** The details of a failed call's error (e.g. which limit and what remains), or undefined. */
export async function errorOf(p: Promise<unknown>): Promise<{ code: string; details: unknown } | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof SemopsError) return { code: e.code, details: e.details };
    throw e;
  }
}
