/**
 * @semops/cli — the `semops` command's building blocks: network launcher, API clients and scenarios. The
 * harness the scenarios and the root tests share is `@semops/cli/testkit`.
 */
export * from './clients-admin.js';
export * from './clients-merchant.js';
export * from './clients-wallet.js';
export * from './network.js';
export * from './http.js';
export { SCENARIOS } from './scenarios/catalogue.js';
export { runScenarios, type ScenarioResult } from './scenarios/run.js';
export * from './clients-account.js';
export * from './clients-agents.js';
export * from './clients-bills.js';
export * from './clients-mandates.js';
export * from './clients-settlement.js';
export { reconcileWindow } from './reconcile.js';
export { operatorMain } from './operator.js';
