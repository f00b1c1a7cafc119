/**
 * @semops/cli — the `semops` command's building blocks: network launcher, API clients and scenarios.
 */
export * from './clients.js';
export * from './network.js';
export * from './http.js';
export { SCENARIOS, runScenarios, Ctx, type Scenario, type ScenarioResult } from './scenarios.js';
export * from './clients-account.js';
export * from './clients-agents.js';
export * from './clients-bills.js';
export * from './clients-mandates.js';
export * from './clients-settlement.js';
export { reconcileWindow } from './reconcile.js';
export { operatorMain } from './operator.js';
