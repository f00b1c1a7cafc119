/**
 * The payee side of transfers, measured: the request service with `accept` and `commit` timed and counted
 * (`semops_incoming_transfers_total`, steps `payee_accept` and `payee_commit`), and a debug log line per
 * accepted or rejected prepare carrying the payer's trace id. Wrapped once at the composition root
 * (`services.ts`), so every caller — the hub's messages, payments inside this processor, recovery — goes
 * through it.
 */
import type { Log } from '@semops/node';
import type { ProcessorMetrics } from './metrics.js';
import type { RequestService } from './requests/service.js';

export function withPayeeMetrics(
  requests: RequestService,
  deps: { readonly metrics?: ProcessorMetrics | undefined; readonly log: Log },
): RequestService {
  const { metrics, log } = deps;
  return {
    ...requests,
    async accept(p) {
      const t0 = performance.now();
      const r = await requests.accept(p);
      metrics?.step('payee_accept', t0);
      metrics?.incoming(r.decision === 'FULFIL' ? 'ACCEPTED' : 'REJECTED', r.error?.code);
      log.debug(
        { traceId: p.traceId, transferId: p.transferId, decision: r.decision, code: r.error?.code },
        'transfer prepare answered',
      );
      return r;
    },
    async commit(transferId) {
      const t0 = performance.now();
      const changed = await requests.commit(transferId);
      if (changed) {
        metrics?.step('payee_commit', t0);
        metrics?.incoming('COMMITTED');
        log.debug({ transferId }, 'transfer booked');
      }
      return changed;
    },
  };
}
