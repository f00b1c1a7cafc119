/**
 * @semops/protocol — what every SEMOPS node, wallet and merchant client shares: money, ids, error codes,
 * wire schemas, signing and encryption, the message envelope, links, short codes and EMV QR payloads.
 * Runs in Node and in browsers.
 */
export * from './money.js';
export * from './ids.js';
export * from './errors.js';
export * from './crypto.js';
export * from './envelope.js';
export * from './keys.js';
export * from './schemas.js';
export * from './messages.js';
export * from './links.js';
export * from './emv.js';
export * from './fx.js';
export { z } from 'zod';
