/**
 * What a processor counts for Prometheus, on top of the node's step latencies and commit batch sizes
 * (`@semops/node` metrics): payments on the payer side by state, channel and reason; transfers on the payee
 * side (`incoming`) by state; webhook deliveries; PIN lock-outs. Services take it as an optional dependency
 * (`metrics?`), so that unit tests can leave it out.
 */
import { isErrorCode } from '@semops/protocol';
import type { NodeMetrics, PaymentStep } from '@semops/node';
import type { PaymentState } from './payments/model.js';

/** How the customer approved a payment, read from its device column; `refund`: a merchant's refund. */
export type Channel = 'wallet' | 'sms' | 'ussd' | 'refund' | 'other';

export interface ProcessorMetrics {
  readonly node: NodeMetrics;
  /** A payer-side payment reached `state` (committed, so counted once); `reason` for FAILED and ABORTED. */
  payment(
    p: { readonly device_id: string; readonly refund_of: string | null },
    state: PaymentState,
    reason?: string | null,
  ): void;
  /** A transfer to this processor's merchant or customer reached `state` on the payee side. */
  incoming(state: 'ACCEPTED' | 'REJECTED' | 'COMMITTED', reason?: string): void;
  /** Shorthand of `node.step`. */
  step(step: PaymentStep, since: number, count?: number): void;
  webhook(outcome: 'ok' | 'failed'): void;
  pinLockout(): void;
}

/** The channel of a stored payment: `channel:sms` / `channel:ussd` for PIN-only approvals, else a device. */
export function channelOf(p: { readonly device_id: string; readonly refund_of: string | null }): Channel {
  if (p.refund_of !== null) return 'refund';
  if (p.device_id === 'channel:sms') return 'sms';
  if (p.device_id === 'channel:ussd') return 'ussd';
  return p.device_id.startsWith('channel:') || p.device_id === 'merchant' ? 'other' : 'wallet';
}

/** A reason label from the set of error codes only (a peer's free text must not add label values). */
const reasonLabel = (reason: string | null | undefined): string =>
  reason === null || reason === undefined ? '' : isErrorCode(reason) ? reason : 'OTHER';

export function createProcessorMetrics(node: NodeMetrics): ProcessorMetrics {
  const payments = node.counter(
    'semops_payments_total',
    'Payments this processor made for its customers (payer side) that reached a state, by channel and, for FAILED and ABORTED, the error code.',
    ['state', 'channel', 'reason'],
  );
  const incoming = node.counter(
    'semops_incoming_transfers_total',
    "Transfers to this processor's merchants and customers (payee side) by state (ACCEPTED, REJECTED with the error code, COMMITTED).",
    ['state', 'reason'],
  );
  const webhooks = node.counter(
    'semops_webhook_deliveries_total',
    'Attempts to deliver a merchant webhook: ok (2xx answer) or failed (retried later, up to the limit).',
    ['outcome'],
  );
  const lockouts = node.counter(
    'semops_pin_lockouts_total',
    'PINs locked after too many wrong tries (any channel).',
  );
  return {
    node,
    payment: (p, state, reason) =>
      payments.inc({ state, channel: channelOf(p), reason: reasonLabel(reason) }),
    incoming: (state, reason) => incoming.inc({ state, reason: reasonLabel(reason) }),
    step: (step, since, count) => node.step(step, since, count),
    webhook: (outcome) => webhooks.inc({ outcome }),
    pinLockout: () => lockouts.inc(),
  };
}
