/**
 * The phone simulator of `semops demo`: a page and a small server that play a feature phone's SMS and USSD
 * through the processors' gateway webhooks.
 *
 * @example
 *   import { startSimulator } from '@semops/cli/simulator';
 *   const sim = await startSimulator({ net, port: 4008 });
 *   // open sim.pageUrl, pick a customer's number, dial *384#
 */
export {
  startSimulator,
  demoPhones,
  SIMULATOR_PAGE,
  type Simulator,
  type SimulatorOptions,
} from './server.js';
export {
  createSimulatedGateway,
  normalizePhone,
  NOT_REGISTERED,
  type SimulatorPhone,
  type SimulatorProcessor,
  type SmsAnswer,
  type UssdAnswer,
  type InboxMessage,
} from './gateway.js';
