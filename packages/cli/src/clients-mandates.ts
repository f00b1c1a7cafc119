/**
 * Client calls for mandates (scheduled and recurring payments): the wallet signs a mandate once with its device
 * key and the PIN, then lists or cancels its mandates. Functions over a Wallet.
 */
import {
  MANDATE_TYP,
  encryptJson,
  importEncryptionKey,
  importSigningKey,
  randomToken,
  signJson,
  type MoneyWire,
} from '@semops/protocol';
import type { ProcessorInfo } from './clients-admin.js';
import type { ResolvedRequest, Wallet } from './clients-wallet.js';
import { json } from './http.js';

export type MandateInterval = 'daily' | 'weekly' | 'monthly' | number;

export interface MandateTerms {
  amount: MoneyWire;
  maxAmount: MoneyWire;
  interval: MandateInterval;
  startAt?: number;
  endAt?: number;
  count?: number;
}

export interface InstalmentView {
  seq: number;
  dueAt: number;
  status: 'PENDING' | 'COMPLETED' | 'FAILED';
  paymentId?: string;
  error?: string;
}

export interface MandateView {
  mandateId: string;
  status: 'ACTIVE' | 'CANCELLED' | 'COMPLETED';
  requestId: string;
  payee: string;
  amount: MoneyWire;
  maxAmount: MoneyWire;
  interval: MandateInterval;
  startAt: number;
  endAt?: number;
  count?: number;
  paid: number;
  nextAt?: number;
  instalments: InstalmentView[];
}

/** Builds a device-signed mandate; `overrides` lets tests tamper with what is signed. */
export async function signMandate(
  wallet: Wallet,
  r: ResolvedRequest,
  pin: string,
  terms: MandateTerms,
  overrides: { expiresAt?: number; nonce?: string; payee?: string; typ?: string } = {},
): Promise<string> {
  const saved = wallet.export();
  const info = await json<ProcessorInfo>('GET', `${wallet.url}/v1/info`);
  const payload = {
    deviceId: wallet.deviceId,
    requestId: r.requestId,
    payee: overrides.payee ?? r.processorId,
    maxAmount: terms.maxAmount,
    amount: terms.amount,
    interval: terms.interval,
    startAt: terms.startAt ?? Date.now(),
    ...(terms.endAt === undefined ? {} : { endAt: terms.endAt }),
    ...(terms.count === undefined ? {} : { count: terms.count }),
    nonce: overrides.nonce ?? randomToken(16),
    expiresAt: overrides.expiresAt ?? Date.now() + 60_000,
    pin: await encryptJson({ pin }, await importEncryptionKey(info.encryptionKey)),
  };
  return signJson(
    payload,
    await importSigningKey(saved.deviceKey),
    wallet.deviceId,
    overrides.typ ?? MANDATE_TYP,
  );
}

export function submitMandate(wallet: Wallet, mandate: string) {
  return json<{ mandateId: string; status: 'ACTIVE'; nextAt: number }>(
    'POST',
    `${wallet.url}/v1/wallet/mandates`,
    { token: wallet.accessToken, body: { mandate } },
  );
}

/** Resolve the payee's reusable code, sign the mandate with the PIN and submit it. */
export async function approveMandate(wallet: Wallet, code: string, pin: string, terms: MandateTerms) {
  const r = await wallet.resolve(code);
  return submitMandate(wallet, await signMandate(wallet, r, pin, terms));
}

export async function listMandates(wallet: Wallet): Promise<MandateView[]> {
  return (
    await json<{ mandates: MandateView[] }>('GET', `${wallet.url}/v1/wallet/mandates`, {
      token: wallet.accessToken,
    })
  ).mandates;
}

export function getMandate(wallet: Wallet, id: string) {
  return json<MandateView>('GET', `${wallet.url}/v1/wallet/mandates/${id}`, { token: wallet.accessToken });
}

export function cancelMandate(wallet: Wallet, id: string) {
  return json<MandateView>('POST', `${wallet.url}/v1/wallet/mandates/${id}/cancel`, {
    token: wallet.accessToken,
  });
}
