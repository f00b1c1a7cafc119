/**
 * Recovery: outcomes the hub announces (`transfer.events`) settle the payments this processor made and the
 * transfers its merchants received, and `reconcile` settles every transfer still in flight with the hub's
 * view — after a restart, after a lost answer, or when a notification went missing.
 */
import { MAX_CLOCK_SKEW_MS, type TransferEvent } from '@semops/protocol';
import type { PaymentFlow } from './flow.js';
import type { HubBatcher } from './hub-batch.js';
import type { PaymentRow } from './model.js';
import type { PaymentDeps } from './service.js';

/** `active`: the payments this process is working on right now, which reconcile leaves alone. */
export function createPaymentRecovery(
  deps: PaymentDeps,
  flow: PaymentFlow,
  batcher: HubBatcher,
  active: ReadonlySet<string>,
) {
  const { q, now, processorId } = deps;
  const { row, settle, prepareOf } = flow;

  /** Outcomes announced by the hub, for payments we made and for payments our merchants received. */
  async function onEvents(events: readonly TransferEvent[]): Promise<void> {
    for (const e of events) {
      if (await row(e.transferId)) await settle(e.transferId, e.state, e.reason, undefined, e.fees);
      else if (e.state === 'COMMITTED') await deps.requests.commit(e.transferId);
      else await deps.requests.abort(e.transferId);
    }
  }

  /**
   * Settles every transfer this node has in flight with the hub's view: after a restart, after a lost
   * answer, or when a notification went missing. Runs at start and then periodically.
   */
  async function reconcile(olderThanMs = 2000): Promise<number> {
    const cutoff = now() - olderThanMs;
    const mine = (
      await q.all<PaymentRow>`SELECT * FROM payments WHERE state IN ('NEW', 'RESERVED') AND created_at < ${cutoff}
        ORDER BY created_at LIMIT 500`
    ).filter((p) => !active.has(p.id));
    const theirs = await deps.requests.openIncoming(cutoff);
    const t = now();
    let settled = 0;
    const remote: PaymentRow[] = [];
    for (const p of mine) {
      if (p.payee !== processorId) {
        remote.push(p);
        continue;
      }
      // A payment inside this processor interrupted by a crash: once it has expired (so no instance is
      // still working on it), finish what the payee side recorded.
      if (p.expires_at >= t) continue;
      if (p.state === 'NEW') await settle(p.id, 'ABORTED', 'INTERRUPTED');
      else if (await deps.requests.hasIncoming(p.id)) {
        await settle(p.id, 'COMMITTED');
        await deps.requests.commit(p.id);
      } else await settle(p.id, 'ABORTED', 'INTERRUPTED');
      settled++;
    }
    const payeeSide: typeof theirs = [];
    for (const i of theirs) if (!(await row(i.id))) payeeSide.push(i);
    const ids = [...remote.map((p) => p.id), ...payeeSide.map((i) => i.id)];
    if (ids.length === 0) return settled;
    const status = await deps.hub.send('transfer.status', { transferIds: ids.slice(0, 500) });
    const stateOf = new Map(status.transfers.map((s) => [s.transferId, s]));
    for (const p of remote) {
      const s = stateOf.get(p.id);
      if (s?.state === 'COMMITTED') await settle(p.id, 'COMMITTED', undefined, undefined, s.fees);
      else if (s?.state === 'ABORTED') await settle(p.id, 'ABORTED', s.reason);
      else if (s?.state === 'UNKNOWN' || !s) {
        if (p.expires_at + MAX_CLOCK_SKEW_MS < t) await settle(p.id, 'ABORTED', 'TRANSFER_EXPIRED');
        else if (p.state === 'RESERVED') {
          // The hub never got the prepare: send it again (idempotent by transfer id).
          void batcher
            .prepare(prepareOf(p))
            .then((r) =>
              r.state === 'COMMITTED' || r.state === 'ABORTED'
                ? settle(p.id, r.state, r.error?.code, undefined, r.fees)
                : undefined,
            )
            .catch(() => undefined);
          continue;
        } else await settle(p.id, 'ABORTED', 'INTERRUPTED');
      } else continue;
      settled++;
    }
    for (const i of payeeSide) {
      const s = stateOf.get(i.id);
      if (s?.state === 'COMMITTED') await deps.requests.commit(i.id);
      else if (s?.state === 'ABORTED' || (s?.state === 'UNKNOWN' && i.expiresAt + MAX_CLOCK_SKEW_MS < t)) {
        await deps.requests.abort(i.id);
      } else continue;
      settled++;
    }
    return settled;
  }

  return { onEvents, reconcile };
}
