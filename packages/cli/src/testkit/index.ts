/**
 * @semops/cli/testkit — the harness that scenarios and the root network tests share: a running network with
 * helpers to make customers and merchants, the money-conservation check, scenario step helpers and the
 * operator's SMS/USSD gateway.
 *
 * @example
 * import { Ctx } from '@semops/cli/testkit';
 * const ctx = new Ctx(await startNetwork({ dir }));
 * const c = await ctx.customer('bank-a', 50_00n);
 */
export { Ctx, type TestCustomer, type TestMerchant } from './harness.js';
export { countMoney, moneyProblems, type CurrencyMoney, type ProcessorBooks } from './money.js';
export { check, ScenarioFailure, type Scenario } from './scenario.js';
export {
  eur,
  showEur,
  purchase,
  sale,
  type Sale,
  receiptSignedBy,
  checkRequestPaid,
  checkMerchantReceived,
} from './steps.js';
export { operatorGateway, type GatewayAnswer, type StoredText } from './gateway.js';
export {
  settableClock,
  startInProcessNetwork,
  type InProcessNetwork,
  type InProcessOptions,
} from './in-process.js';
export { startFaultyLink, type Fault, type FaultyLink } from './faulty-link.js';
export { sleep, waitUntil, untilAliasKnown } from './wait.js';
