/**
 * @semops/hub — the SEMOPS hub: participant registry and key directory, alias directory, request routing,
 * positions with net debit caps, and the clearing of transfers between processors.
 *
 * @example
 * import { createHub } from '@semops/hub';
 * const hub = await createHub({ dataDir: '.semops/hub', port: 7000 });
 */
export { createHub, type Hub, type HubOptions } from './app.js';
export type { PositionView } from './positions/service.js';
export type { TransferRecord, HubTransferState } from './transfers/store.js';
export { MAX_TRANSFER_TTL_MS } from './transfers/service.js';
