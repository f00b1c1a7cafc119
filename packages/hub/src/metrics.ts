/**
 * What the hub shows Prometheus, on top of the node's step latencies and commit batch sizes (`@semops/node`
 * metrics): transfers by the state they reached, and each processor's liquidity, position, reserved and
 * available amount per currency — read from the ledger when Prometheus scrapes, never on a payment's path.
 */
import type { NodeMetrics, PaymentStep } from '@semops/node';
import type { TransferState } from '@semops/protocol';
import type { PositionService, PositionView } from './positions/service.js';

export interface HubMetrics {
  readonly node: NodeMetrics;
  /** `count` transfers reached `state` (RESERVED at admission; COMMITTED or ABORTED when final). */
  transfers(state: TransferState, count?: number): void;
  /** Shorthand of `node.step`. */
  step(step: PaymentStep, since: number, count?: number): void;
}

/** The amounts of a position the gauges show, in minor units of its currency. */
const AMOUNTS = {
  liquidity: 'Prefunded liquidity of a processor at the hub (deposits − withdrawals ± settled nets).',
  position: 'Net amount a processor owes (+) or is owed (−) from committed transfers not yet settled.',
  reserved: 'Amount of transfers a processor sent that are reserved and not yet final.',
  available: 'What a processor can still send: liquidity − position − reserved (its net debit cap left).',
} as const satisfies Record<string, string>;

export function createHubMetrics(node: NodeMetrics, positions: PositionService): HubMetrics {
  const transfers = node.counter('semops_hub_transfers_total', 'Transfers that reached a state at the hub.', [
    'state',
  ]);
  // The four gauges are collected at once on a scrape: they share one read of the positions.
  let reading: Promise<PositionView[]> | undefined;
  const read = () =>
    (reading ??= positions.list().finally(() => {
      reading = undefined;
    }));
  for (const [amount, help] of Object.entries(AMOUNTS) as Array<[keyof typeof AMOUNTS, string]>) {
    node.gauge(`semops_hub_${amount}`, `${help} Minor units.`, ['processor', 'currency'], async (set) => {
      for (const p of await read())
        set({ processor: p.processorId, currency: p.currency }, Number(p[amount]));
    });
  }
  return {
    node,
    transfers: (state, count = 1) => transfers.inc({ state }, count),
    step: (step, since, count) => node.step(step, since, count),
  };
}
