/**
 * The example shop's orders, in memory (a demo: a real shop keeps them in its database). An order is paid
 * only by a verified webhook; expiry and cancellation come from the processor's request status.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Money } from '@semops/merchant-sdk';

export type OrderStatus = 'PENDING' | 'PAID' | 'EXPIRED' | 'CANCELLED';

export interface Order {
  readonly id: string;
  readonly product: string;
  readonly title: string;
  readonly amount: Money;
  readonly createdAt: number;
  status: OrderStatus;
  requestId?: string;
  shortCode?: string;
  expiresAt?: number;
  paymentId?: string;
  paidAt?: number;
  /** The processor reported the request paid, but the signed webhook has not arrived yet. */
  confirming?: boolean;
  refunds: Array<{ at: number; amount: Money; refundId: string }>;
}

export function createOrderBook() {
  const orders = new Map<string, Order>();
  const byRequest = new Map<string, string>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const changed = (o: Order) => events.emit(o.id, o);

  return {
    /** Subscribe to changes of one order; returns the unsubscribe function. */
    watch(id: string, listener: (o: Order) => void): () => void {
      events.on(id, listener);
      return () => events.off(id, listener);
    },
    create(product: string, title: string, amount: Money): Order {
      const order: Order = {
        id: `ord_${randomBytes(6).toString('hex')}`,
        product,
        title,
        amount,
        createdAt: Date.now(),
        status: 'PENDING',
        refunds: [],
      };
      orders.set(order.id, order);
      return order;
    },
    attachRequest(id: string, r: { id: string; shortCode: string; expiresAt: number }): void {
      const o = orders.get(id);
      if (!o) return;
      o.requestId = r.id;
      o.shortCode = r.shortCode;
      o.expiresAt = r.expiresAt;
      byRequest.set(r.id, id);
      changed(o);
    },
    get(id: string): Order | undefined {
      return orders.get(id);
    },
    byRequest(requestId: string): Order | undefined {
      const id = byRequest.get(requestId);
      return id === undefined ? undefined : orders.get(id);
    },
    list(): Order[] {
      return [...orders.values()].sort((a, b) => b.createdAt - a.createdAt);
    },
    /** The one way to PAID: a verified `payment.completed` webhook. A paid order stays paid. */
    markPaid(id: string, paymentId: string): Order | undefined {
      const o = orders.get(id);
      if (!o || o.status === 'PAID') return o;
      o.status = 'PAID';
      o.paymentId = paymentId;
      o.paidAt = Date.now();
      o.confirming = false;
      changed(o);
      return o;
    },
    /** The request ended unpaid. */
    markEnded(id: string, status: 'EXPIRED' | 'CANCELLED'): void {
      const o = orders.get(id);
      if (!o || o.status !== 'PENDING') return;
      o.status = status;
      changed(o);
    },
    markConfirming(id: string): void {
      const o = orders.get(id);
      if (!o || o.status !== 'PENDING') return;
      o.confirming = true;
      changed(o);
    },
    addRefund(id: string, refund: { amount: Money; refundId: string }): void {
      const o = orders.get(id);
      if (!o) return;
      o.refunds.push({ at: Date.now(), ...refund });
      changed(o);
    },
  };
}

export type OrderBook = ReturnType<typeof createOrderBook>;
