// Group commit: jobs queued during one turn of the event loop are handed to `run` together, so one
// database transaction (and one fsync) serves them all. Storage-independent: `run` may be synchronous
// (SQLite) or asynchronous (PostgreSQL); while it runs, new jobs queue up for the next batch. A batch
// holds at most `maxBatch` commands (a single larger job goes alone).

export interface BatchJob {
  /** How many commands the job carries; a batch is flushed early once `maxBatch` are queued. */
  readonly size: number;
  /** Called for every job of a batch whose `run` threw. */
  reject(error: unknown): void;
}

export interface Batcher<J extends BatchJob> {
  enqueue(job: J): void;
  /** Resolves once every job queued so far has been run. */
  drain(): Promise<void>;
}

export function createBatcher<J extends BatchJob>(opts: {
  maxBatch: number;
  /** Runs a batch in arrival order and settles each job. */
  run: (jobs: J[]) => void | Promise<void>;
}): Batcher<J> {
  let queue: J[] = [];
  let queued = 0;
  let scheduled = false;
  let running: Promise<void> | undefined;

  const schedule = (): void => {
    if (scheduled || running !== undefined) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      flush();
    });
  };

  const afterRun = (): void => {
    running = undefined;
    if (queue.length === 0) return;
    if (queued >= opts.maxBatch) flush();
    else schedule();
  };

  /** Takes jobs in arrival order up to `maxBatch` commands (at least one job, however large). */
  const take = (): J[] => {
    let count = 0;
    let size = 0;
    for (const job of queue) {
      if (count > 0 && size + job.size > opts.maxBatch) break;
      count += 1;
      size += job.size;
    }
    queued -= size;
    if (count === queue.length) {
      const all = queue;
      queue = [];
      return all;
    }
    return queue.splice(0, count);
  };

  const flush = (): void => {
    if (running !== undefined || queue.length === 0) return;
    const jobs = take();
    let out: void | Promise<void>;
    try {
      out = opts.run(jobs);
    } catch (e) {
      for (const job of jobs) job.reject(e);
      afterRun();
      return;
    }
    if (out instanceof Promise) {
      running = out.then(afterRun, (e: unknown) => {
        for (const job of jobs) job.reject(e);
        afterRun();
      });
    } else {
      afterRun();
    }
  };

  return {
    enqueue(job) {
      queue.push(job);
      queued += job.size;
      if (queued >= opts.maxBatch) flush();
      else schedule();
    },
    async drain() {
      while (queue.length > 0 || running !== undefined) {
        flush();
        if (running !== undefined) await running;
      }
    },
  };
}
