/** Every scenario `semops scenarios` runs, in the order it runs them. */
import type { Scenario } from '../testkit/index.js';
import { PAYMENT_SCENARIOS } from './payments.js';
import { CHANNEL_SCENARIOS } from './channels.js';
import { P2P_SCENARIOS } from './p2p.js';
import { USE_CASE_SCENARIOS } from './usecases.js';
import { ACCOUNT_SCENARIOS } from './account.js';
import { AGENT_SCENARIOS } from './agents.js';
import { MANDATE_SCENARIOS } from './mandates.js';
import { BILL_SCENARIOS } from './bills.js';
import { CROSS_BORDER_SCENARIOS } from './crossborder.js';

export const SCENARIOS: readonly Scenario[] = [
  ...PAYMENT_SCENARIOS,
  ...CHANNEL_SCENARIOS,
  ...P2P_SCENARIOS,
  ...USE_CASE_SCENARIOS,
  ...ACCOUNT_SCENARIOS,
  ...AGENT_SCENARIOS,
  ...MANDATE_SCENARIOS,
  ...BILL_SCENARIOS,
  // Last: they close the settlement window that holds every earlier scenario's transfers and reconcile it.
  ...CROSS_BORDER_SCENARIOS,
];
