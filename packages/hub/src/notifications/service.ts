/**
 * Delivers the outbox as `transfer.notify` batches (at most 500 events each), one sender loop per processor.
 * Events queued while a batch is on the wire go in the next batch, so the number of messages stays small
 * under load. A processor that does not acknowledge is retried with exponential back-off; nothing is lost
 * across restarts because the outbox is in the hub's store.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { NodeClient } from '@semops/node';
import { PROCESSOR_MESSAGES, SemopsError } from '@semops/protocol';
import type { ParticipantService } from '../participants/service.js';
import type { Writer } from '../shared/writer.js';
import type { OutboxStore } from './store.js';

export const NOTIFY_BATCH = 500;

export interface Notifier {
  /** Wakes the sender loops of these processors (after new outbox rows committed). */
  kick(processorIds: Iterable<string>): void;
  /** Starts delivering what the outbox already holds (after a restart). */
  start(): Promise<void>;
  /** Stops the loops and waits for batches on the wire. */
  close(): Promise<void>;
}

export interface NotifierDeps {
  readonly store: OutboxStore;
  readonly writer: Writer;
  readonly client: NodeClient;
  readonly participants: ParticipantService;
  readonly log: FastifyBaseLogger;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly timeoutMs?: number;
}

interface Loop {
  running: Promise<void> | undefined;
  again: boolean;
  timer: NodeJS.Timeout | undefined;
  backoffMs: number;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const minBackoff = deps.minBackoffMs ?? 200;
  const maxBackoff = deps.maxBackoffMs ?? 10_000;
  const timeoutMs = deps.timeoutMs ?? 5_000;
  const loops = new Map<string, Loop>();
  let closed = false;

  const loopOf = (pid: string): Loop => {
    let l = loops.get(pid);
    if (!l) {
      l = { running: undefined, again: false, timer: undefined, backoffMs: minBackoff };
      loops.set(pid, l);
    }
    return l;
  };

  /** Sends one batch; true when something was delivered and more may wait. */
  const sendBatch = async (pid: string): Promise<boolean> => {
    const rows = await deps.store.next(pid, NOTIFY_BATCH);
    if (rows.length === 0) return false;
    const p = deps.participants.get(pid);
    if (!p) throw new SemopsError('PARTICIPANT_NOT_FOUND', `No participant ${pid}.`);
    // The answer parses only as an acknowledgement.
    await deps.client.send(
      PROCESSOR_MESSAGES,
      p.baseUrl,
      pid,
      'transfer.notify',
      { events: rows.map((r) => r.event) },
      { timeoutMs },
    );
    await deps.writer.write((tx) =>
      deps.store.remove(
        tx,
        rows.map((r) => r.seq),
      ),
    );
    return rows.length === NOTIFY_BATCH;
  };

  const run = async (pid: string, l: Loop): Promise<void> => {
    try {
      for (;;) {
        l.again = false;
        const more = await sendBatch(pid);
        l.backoffMs = minBackoff;
        if (!more && !l.again) return;
        if (closed) return;
      }
    } catch (e) {
      if (closed) return;
      const code = e instanceof SemopsError ? e.code : 'INTERNAL';
      deps.log.warn({ processorId: pid, code, retryInMs: l.backoffMs }, 'transfer.notify not delivered');
      l.timer = setTimeout(() => {
        l.timer = undefined;
        wake(pid);
      }, l.backoffMs);
      l.backoffMs = Math.min(l.backoffMs * 2, maxBackoff);
    }
  };

  const wake = (pid: string): void => {
    if (closed) return;
    const l = loopOf(pid);
    if (l.timer !== undefined) return; // backing off: the timer wakes it
    if (l.running !== undefined) {
      l.again = true;
      return;
    }
    l.running = run(pid, l).finally(() => {
      l.running = undefined;
      if (l.again && l.timer === undefined) wake(pid);
    });
  };

  return {
    kick(processorIds) {
      for (const pid of new Set(processorIds)) wake(pid);
    },
    async start() {
      for (const pid of await deps.store.processorsWaiting()) wake(pid);
    },
    async close() {
      closed = true;
      for (const l of loops.values()) {
        if (l.timer !== undefined) clearTimeout(l.timer);
        l.timer = undefined;
      }
      await Promise.all([...loops.values()].flatMap((l) => (l.running ? [l.running] : [])));
    },
  };
}
