/**
 * What a scenario is: a named run against the harness that returns a one-line account of what happened, or
 * fails a check with a {@link ScenarioFailure} whose message says what was seen instead.
 */
import type { Ctx } from './harness.js';

export interface Scenario {
  readonly name: string;
  run(ctx: Ctx): Promise<string>;
}

/** A check of a scenario did not hold (as opposed to an unexpected error). */
export class ScenarioFailure extends Error {
  override readonly name = 'ScenarioFailure';
}

/** Fails the scenario with `message` unless `cond` holds. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new ScenarioFailure(message);
}
