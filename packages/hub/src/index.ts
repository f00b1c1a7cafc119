/**
 * @semops/hub — the SEMOPS hub: participant registry and key directory, alias directory, request routing,
 * positions with net debit caps, the clearing of transfers between processors, the fee schedule, and
 * settlement windows with their multilateral net reports.
 *
 * @example
 * import { createHub } from '@semops/hub';
 * const hub = await createHub({ dataDir: '.semops/hub', port: 7000 });
 */
export { createHub, type Hub, type HubOptions } from './app.js';
export type { PositionView } from './positions/service.js';
export type { TransferRecord, TransferFx, HubTransferState } from './transfers/store.js';
export { MAX_TRANSFER_TTL_MS } from './transfers/service.js';
export type { FeeEntry } from './fees/schedule.js';
export type {
  CurrencyTotal,
  FeeLine,
  Instruction,
  PositionLineWire,
  SettlementStatus,
  WindowReport,
} from './settlement/report.js';
export type { WindowTransferView, WindowView } from './settlement/service.js';
export { parseInterval } from './settlement/interval.js';
/** The pure arithmetic of fees and settlement reports (for property tests and tools). */
export { computeFees, matchFee } from './fees/schedule.js';
export { aggregate, imbalances, instructions } from './settlement/report.js';
export type { PositionLine, WindowTransfer } from './settlement/store.js';
export { benchWindow, type WindowBenchResult } from './settlement/bench.js';
