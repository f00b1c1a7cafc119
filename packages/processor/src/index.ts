/**
 * @semops/processor — the payment processor node for banks and mobile operators.
 * @example
 * const node = await createProcessor({ id: 'bank-a', name: 'Bank A', kind: 'bank', currencies: ['EUR'],
 *   routingPrefix: '101', country: 'AT', dataDir: '.semops/bank-a', hubUrl: 'http://127.0.0.1:4000' });
 */
export { createProcessor, type ProcessorNode, type ProcessorOptions } from './app.js';
export { signWebhook } from './webhooks/service.js';
export { blindAlias } from './customers/service.js';
