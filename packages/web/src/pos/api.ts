/** The POS page's calls to its processor, authenticated by the merchant's API key. */
import type { MoneyWire, RequestToken } from '@semops/protocol';
import { api } from '../shared/api';

export type RequestStatus = 'OPEN' | 'PAID' | 'EXPIRED' | 'CANCELLED';

export interface IncomingPayment {
  paymentId: string;
  requestId: string;
  amount: MoneyWire;
  status: 'COMPLETED' | 'PENDING' | 'FAILED';
  receipt: string | null;
  createdAt: number;
}

export interface PaymentRequest {
  id: string;
  status: RequestStatus;
  currency: string;
  amount?: MoneyWire;
  reference: string;
  description?: string;
  reusable: boolean;
  createdAt: number;
  expiresAt: number;
  token: string;
  qr: string;
  deepLink: string;
  shortCode: string;
  payments: IncomingPayment[];
}

export interface Refund {
  refundId: string;
  paymentId: string;
  amount: MoneyWire;
  status: 'COMPLETED' | 'PENDING' | 'FAILED';
  error?: string | { code: string; message: string } | null;
  createdAt?: number;
}

export function merchantApi(apiKey: string) {
  const token = apiKey;
  return {
    createRequest: (body: {
      amount: MoneyWire;
      currency: string;
      reference: string;
      description?: string;
      expiresInSeconds: number;
    }) =>
      api<PaymentRequest>('POST', '/v1/requests', {
        token,
        body,
        headers: { 'idempotency-key': `pos-${crypto.randomUUID()}` },
      }),
    request: (id: string) => api<PaymentRequest>('GET', `/v1/requests/${encodeURIComponent(id)}`, { token }),
    cancel: (id: string) =>
      api<PaymentRequest>('POST', `/v1/requests/${encodeURIComponent(id)}/cancel`, { token }),
    payments: () => api<{ payments: IncomingPayment[] }>('GET', '/v1/merchant/payments?limit=200', { token }),
    /**
     * Refunds a payment, in full without `amount`. The idempotency key makes a retry after a lost answer
     * return the same refund instead of paying back twice.
     */
    refund: (paymentId: string, idempotencyKey: string, amount?: MoneyWire) =>
      api<Refund>('POST', `/v1/payments/${encodeURIComponent(paymentId)}/refunds`, {
        token,
        body: amount ? { amount } : {},
        headers: { 'idempotency-key': idempotencyKey },
      }),
    refunds: (paymentId: string) =>
      api<{ refunds: Refund[] }>('GET', `/v1/payments/${encodeURIComponent(paymentId)}/refunds`, { token }),
    /**
     * Server-sent events of one request. EventSource cannot send headers, and a key must never sit in a URL:
     * the stream opens with a short-lived ticket for this one request.
     */
    events: async (id: string) => {
      const { ticket } = await api<{ ticket: string; expiresAt: number }>(
        'POST',
        `/v1/requests/${encodeURIComponent(id)}/events/ticket`,
        { token },
      );
      return new EventSource(
        `/v1/requests/${encodeURIComponent(id)}/events?ticket=${encodeURIComponent(ticket)}`,
      );
    },
  };
}

export type MerchantApi = ReturnType<typeof merchantApi>;

/** The payload of a signed JWS (request token or receipt), for display only. */
export function decodeJws<T>(jws: string): T | undefined {
  const part = jws.split('.')[1];
  if (!part) return undefined;
  try {
    const bin = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))) as T;
  } catch {
    return undefined;
  }
}

export type { RequestToken };
