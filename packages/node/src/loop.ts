/**
 * Background work of a node (reconciliation, outbox delivery, sweeps): one shape for every periodic job.
 *
 * @example
 * const loop = startLoop({ name: 'reconcile', everyMs: 1000, run: () => payments.reconcile(), log });
 * app.addHook('onClose', () => loop.stop());
 */
import type { FastifyBaseLogger } from 'fastify';

/** A node's structured logger (pino), usually a child per feature: `app.log.child({ feature: 'payments' })`. */
export type Log = Pick<FastifyBaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

/** A logger with per-feature children, as a node's root logger (`app.log`) is. */
export type RootLog = Log & { child(bindings: Record<string, unknown>): Log };

/** A logger that drops everything (unit tests of services). */
export const silentLog: RootLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLog,
};

export interface LoopOptions {
  /** Named in the log line of a failed run. */
  readonly name: string;
  readonly everyMs: number;
  /** One run; a run that throws is logged as a warning and the loop goes on. */
  readonly run: () => Promise<unknown>;
  readonly log: Log;
  /** Also run once right away (default true). */
  readonly runAtStart?: boolean;
}

export interface Loop {
  /** Runs once now, or waits for the run in progress; never two runs at once. */
  runNow(): Promise<void>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `everyMs` milliseconds, never twice at once: a tick that finds the previous run still busy
 * is skipped. The timer does not keep the process alive.
 */
export function startLoop(opts: LoopOptions): Loop {
  let running: Promise<void> | undefined;
  let stopped = false;
  const runNow = (): Promise<void> => {
    running ??= opts
      .run()
      .then(
        () => undefined,
        (e: unknown) =>
          opts.log.warn(
            { loop: opts.name, err: e instanceof Error ? e.message : String(e) },
            `${opts.name} failed; will retry`,
          ),
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped && running === undefined) void runNow();
  }, opts.everyMs);
  timer.unref();
  if (opts.runAtStart ?? true) void runNow();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
