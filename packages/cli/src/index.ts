/**
 * @semops/cli — the `semops` command's building blocks: network launcher, API clients and scenarios.
 */
export * from './clients.js';
export * from './network.js';
export * from './http.js';
export { SCENARIOS, runScenarios, Ctx, type Scenario, type ScenarioResult } from './scenarios.js';
