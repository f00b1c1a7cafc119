/**
 * Prometheus metrics of a node (prom-client). Each node has a registry of its own (tests run several nodes in
 * one process) with the process's standard metrics (CPU, memory, event-loop lag, GC) and what every node
 * measures: the latency of each step of a payment it takes part in, and how many transactions share one
 * durable commit (group commit). The hub and the processors add their counters and gauges to it.
 *
 * Recording costs a counter increment or a histogram observation in memory: nothing on a payment's path reads
 * the database, waits, or logs for it. Gauges that need a read (the hub's positions) are read when Prometheus
 * scrapes.
 *
 * @example
 * const metrics = createNodeMetrics();
 * const t0 = performance.now();
 * await reserve();
 * metrics.step('payer_reserve', t0);
 * const text = await metrics.registry.metrics();
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';

/** The steps of a payment a node times (docs/operations.md, "Metrics"). */
export type PaymentStep =
  | 'payer_approve'
  | 'payer_reserve'
  | 'payer_settle'
  | 'payee_accept'
  | 'payee_commit'
  | 'hub_prepare'
  | 'hub_forward'
  | 'hub_commit';

/** The group-commit queues of a node: its SQL (`Sql.tx`), the hub's writer, the ledger's own batches. */
export type CommitQueue = 'sql' | 'writer' | 'ledger';

/** Seconds, for the steps of a payment: 0.5 ms to 30 s. */
const STEP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Transactions per commit: powers of two up to the largest batch a queue takes. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

export interface NodeMetrics {
  readonly registry: Registry;
  /**
   * Records one `step` of a payment that began at `since` (a `performance.now()` mark), `count` times: once
   * per payment when a batch of them took that long together.
   */
  step(step: PaymentStep, since: number, count?: number): void;
  /** Records one durable commit of `queue` shared by `size` transactions (or ledger jobs). */
  commitBatch(queue: CommitQueue, size: number): void;
  /** A counter in this node's registry. */
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  /**
   * A gauge in this node's registry, set by `collect` when Prometheus scrapes (`collect` reads what it shows
   * and calls `set`).
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: (set: (labels: LabelValues<L>, value: number) => void) => Promise<void>,
  ): Gauge<L>;
}

export function createNodeMetrics(): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const steps = new Histogram({
    name: 'semops_step_duration_seconds',
    help: 'Time one step of a payment took at this node.',
    labelNames: ['step'],
    buckets: STEP_BUCKETS,
    registers,
  });
  const batches = new Histogram({
    name: 'semops_commit_batch_size',
    help: 'Transactions (ledger: jobs) made durable by one commit, per group-commit queue.',
    labelNames: ['queue'],
    buckets: BATCH_BUCKETS,
    registers,
  });
  // Children bound to their label once: an observation then skips hashing the labels.
  const stepOf = new Map<PaymentStep, ReturnType<typeof steps.labels>>();
  const batchOf = new Map<CommitQueue, ReturnType<typeof batches.labels>>();
  return {
    registry,
    step(step, since, count = 1) {
      let h = stepOf.get(step);
      if (h === undefined) stepOf.set(step, (h = steps.labels(step)));
      const seconds = (performance.now() - since) / 1000;
      for (let i = 0; i < count; i++) h.observe(seconds);
    },
    commitBatch(queue, size) {
      let h = batchOf.get(queue);
      if (h === undefined) batchOf.set(queue, (h = batches.labels(queue)));
      h.observe(size);
    },
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers }),
    gauge(name, help, labelNames, collect) {
      return new Gauge({
        name,
        help,
        labelNames,
        registers,
        ...(collect
          ? {
              async collect() {
                this.reset();
                await collect((labels, value) => this.set(labels, value));
              },
            }
          : {}),
      });
    },
  };
}
