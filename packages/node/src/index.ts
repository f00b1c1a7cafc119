/**
 * @semops/node — the runtime pieces every SEMOPS node shares: key files, SQLite opening and migrations,
 * the HTTP edge (errors, parsing, credentials, idempotency) and signed messaging between nodes. Importing it
 * switches the `@semops/protocol` JOSE operations to synchronous `node:crypto` (see fast-crypto.ts).
 */
import { installFastCrypto } from './fast-crypto.js';

installFastCrypto();

export { installFastCrypto, nodeCryptoBackend } from './fast-crypto.js';
export * from './keys.js';
export * from './sqlite.js';
export * from './replay.js';
export * from './http.js';
export * from './messaging.js';
export * from './tls.js';
export * from './key-routes.js';
export * from './store.js';
export * from './ledger.js';
export * from './sql.js';
export * from './audit.js';
export * from './loop.js';
export * from './trace.js';
export * from './metrics.js';
export * from './ops.js';
