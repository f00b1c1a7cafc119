/** The wallet's calls to its own processor (`/v1/wallet/...`), authenticated by the device's access token. */
import type { MoneyWire, Receipt } from '@semops/protocol';
import { api } from '../shared/api';
import type { StoredDevice } from './store';

export interface Me {
  customer: { id: string; name: string; phone: string; currency: string; pinLocked: boolean };
  balance: MoneyWire;
  available: MoneyWire;
}

export interface Transaction {
  id: string;
  direction: 'in' | 'out';
  amount: MoneyWire;
  /** posted, pending or voided. */
  state: string;
  kind: string;
  reference: string | null;
  createdAt: number;
}

export interface MerchantInfo {
  id: string;
  name: string;
  city: string;
  category: string;
}

/**
 * An exchange-rate quote for a request in another currency than the customer's: what the merchant gets
 * (`amount`), what the customer pays in their currency (`total` = `converted` + `fee`) and the rate, valid
 * until `expiresAt`. The approval names it; an expired one is refused with a new one (QUOTE_EXPIRED).
 */
export interface FxQuote {
  quoteId: string;
  requestId: string;
  amount: MoneyWire;
  converted: MoneyWire;
  fee: MoneyWire;
  total: MoneyWire;
  /** `1 EUR = 394.412250 HUF` */
  rate: string;
  quotedAt: number;
  expiresAt: number;
}

export interface Payment {
  paymentId: string;
  status: 'COMPLETED' | 'PENDING' | 'FAILED';
  requestId: string;
  payee: string;
  merchant: MerchantInfo;
  reference: string;
  amount: MoneyWire;
  /** What the customer's account was debited, in its currency (fee included). */
  charged?: MoneyWire;
  /** A converted payment: the rate and the fee it was made at. */
  fx?: { quoteId: string; rate: string; fee: MoneyWire };
  error?: string;
  receipt?: string;
  createdAt: number;
}

/** A payment request as the payer's processor resolved and checked it. */
export interface Resolved {
  requestId: string;
  processorId: string;
  merchant: MerchantInfo;
  currency: string;
  amount?: MoneyWire;
  minAmount?: MoneyWire;
  maxAmount?: MoneyWire;
  reference: string;
  description?: string;
  reusable: boolean;
  expiresAt: number;
  /** Charged by the customer's processor, in the customer's currency (the conversion fee). */
  fee: MoneyWire;
  /** A fixed amount in another currency: the conversion to show before the PIN. */
  quote?: FxQuote;
  /** `p2p` when the payee is a person (POST /v1/wallet/p2p/resolve): the name is what the payee's processor shows (`Jane D.`). */
  kind?: 'p2p';
}

export type NotificationKind = 'payment.received' | 'payment.sent' | 'request.received' | 'refund.received';

export interface WalletNotification {
  id: string;
  kind: NotificationKind;
  text: string;
  amount?: MoneyWire;
  createdAt: number;
}

export type InboxStatus = 'OPEN' | 'PAID' | 'DECLINED' | 'EXPIRED';

/** A request for money another customer sent to this one (paid by resolving `code`, as any request). */
export interface InboxItem {
  id: string;
  requestId: string;
  processorId: string;
  /** Who asks, as their processor shows them (`Anna B.`). */
  from: string;
  amount: MoneyWire;
  note?: string | null;
  status: InboxStatus;
  createdAt: number;
  code: string;
}

export function walletApi(device: StoredDevice) {
  const token = device.accessToken;
  return {
    me: () => api<Me>('GET', '/v1/wallet/me', { token }),
    transactions: () =>
      api<{ transactions: Transaction[] }>('GET', '/v1/wallet/transactions?limit=30', { token }),
    payments: () => api<{ payments: Payment[] }>('GET', '/v1/wallet/payments?limit=30', { token }),
    payment: (id: string) => api<Payment>('GET', `/v1/wallet/payments/${encodeURIComponent(id)}`, { token }),
    resolve: (code: string) => api<Resolved>('POST', '/v1/wallet/resolve', { token, body: { code } }),
    pay: (approval: string) => api<Payment>('POST', '/v1/wallet/payments', { token, body: { approval } }),
    /** A quote for paying `amount` of a resolved request in another currency (a typed amount, or again). */
    quote: (requestId: string, amount: MoneyWire) =>
      api<FxQuote>('POST', '/v1/wallet/quotes', { token, body: { requestId, amount } }),
    /** A person to send money to: a phone number (`+43…`) or `name@processor-id`. */
    p2pResolve: (to: string) => api<Resolved>('POST', '/v1/wallet/p2p/resolve', { token, body: { to } }),
    requestMoney: (body: { from: string; amount: MoneyWire; note?: string }) =>
      api<{ requestId: string; status: 'SENT' }>('POST', '/v1/wallet/p2p/requests', { token, body }),
    inbox: () => api<{ items: InboxItem[] }>('GET', '/v1/wallet/inbox', { token }),
    decline: (id: string) =>
      api<unknown>('POST', `/v1/wallet/inbox/${encodeURIComponent(id)}/decline`, { token }),
    notifications: () =>
      api<{ notifications: WalletNotification[] }>('GET', '/v1/wallet/notifications', { token }),
    block: () =>
      api<{ deviceId: string; status: 'blocked'; account: 'blocked' }>('POST', '/v1/wallet/device/block', {
        token,
      }),
  };
}

export type WalletApi = ReturnType<typeof walletApi>;

/**
 * The payee processor's signed receipt, decoded for display. Its signature was checked by the customer's
 * processor before it was stored; the wallet only shows it.
 */
export function decodeReceipt(jws: string): Receipt | undefined {
  const part = jws.split('.')[1];
  if (!part) return undefined;
  try {
    const bin = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Receipt;
  } catch {
    return undefined;
  }
}

/** Merchant category codes a customer will recognise (ISO 18245); others show as the code. */
const CATEGORIES: Readonly<Record<string, string>> = {
  '5411': 'Groceries',
  '5812': 'Restaurant / café',
  '5814': 'Fast food',
  '5942': 'Bookshop',
  '5912': 'Pharmacy',
  '4111': 'Public transport',
  '7523': 'Parking',
  '5541': 'Fuel',
  '5999': 'Shop',
  '6010': 'Cash (agent)',
  '6011': 'Cash (agent)',
  '4829': 'Money transfer',
};

export function categoryName(code: string): string {
  return CATEGORIES[code] ?? `Category ${code}`;
}
