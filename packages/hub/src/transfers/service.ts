/**
 * The life of a transfer at the hub (docs/protocol.md, "Transfer life at the hub"):
 *
 * 1. `transfer.prepare` from the payer processor: per transfer, idempotent by id, validated, then the payer's
 *    position is reserved in the ledger (a pending transfer pos:payer → pos:payee; the balance rule is the
 *    net debit cap).
 * 2. Reserved transfers are forwarded, one message per payee, and wait for the payee's FULFIL (with a signed
 *    receipt: the commit point) or REJECT, at most until the earliest expiry.
 * 3. The payer gets a result per transfer; final outcomes are also queued for `transfer.notify` to both.
 *
 * The hub's transfer table is the source of truth for states; the ledger follows it with idempotent post and
 * void commands keyed by the transfer id, replayed after a crash (`sweep`).
 *
 * Purchases carry the hub's fees (fees/schedule.ts), fixed at prepare and stored with the transfer; the hub
 * sends them to the payee in the forwarded prepare (replacing anything the payer sent) and to both processors
 * in results, notifications and status. At commit the interchange moves back from the payee's position to the
 * payer's in the same atomic ledger step as the post of the reservation.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Ledger } from '@semops/ledger';
import type { NodeClient } from '@semops/node';
import {
  PROCESSOR_MESSAGES,
  SemopsError,
  type FulfilResult,
  type PrepareResult,
  type TransferFees,
  type TransferPrepare,
  type TransferState,
} from '@semops/protocol';
import type { FeeService } from '../fees/service.js';
import type { HubMetrics } from '../metrics.js';
import type { Notifier } from '../notifications/service.js';
import type { ParticipantService } from '../participants/service.js';
import type { Writer } from '../shared/writer.js';
import { createLedgerFollower, refusalCode, reservation } from './ledger.js';
import { resultOf, withDeadline } from './results.js';
import { checkPrepare, refusal, refused, toPayee, withHubFees, type Admission } from './admission.js';
import {
  contentHash,
  type Abort,
  type Fulfilment,
  type TransferRecord,
  type TransferStore,
  type Transition,
} from './store.js';

export { MAX_TRANSFER_TTL_MS } from './admission.js';
/** Ledger post/void retried by the sweep when still missing after this long. */
const LEDGER_RETRY_AFTER_MS = 5_000;
const SWEEP_LIMIT = 1000;
/** Most transfers in one `transfer.prepare` message (the protocol's limit). */
const MAX_BATCH = 500;

export interface StatusEntry {
  readonly transferId: string;
  readonly state: TransferState;
  readonly amount?: { value: string; currency: string };
  readonly payer?: string;
  readonly payee?: string;
  readonly expiresAt?: number;
  readonly reason?: string;
  readonly fees?: TransferFees;
}

export interface TransferService {
  /** Handles a `transfer.prepare` batch from `sender`; one result per transfer, in order. */
  prepare(sender: string, transfers: readonly TransferPrepare[]): Promise<PrepareResult[]>;
  /** Current states; transfers the sender is neither payer nor payee of are reported UNKNOWN. */
  status(sender: string, transferIds: readonly string[]): Promise<StatusEntry[]>;
  /** The hub's record (operator view). */
  get(transferId: string): Promise<TransferRecord | undefined>;
  /**
   * Aborts expired reservations and makes the ledger follow final states it missed. With `startup` (before
   * the server listens) it first re-issues the ledger reservation of every open transfer.
   */
  sweep(opts?: { startup?: boolean }): Promise<void>;
  /**
   * Asks the payees again about every open reservation (after a restart, when their answers may have been
   * lost), so that the outcome comes without waiting for expiry. Does not wait for the answers.
   */
  resumeForwarding(): Promise<void>;
  /**
   * Makes the ledger follow these transfers' final states now (post with interchange, or void) where it has
   * not yet; true when it has for all of them.
   */
  followLedger(transferIds: readonly string[]): Promise<boolean>;
  /** Waits for exchanges with payees that outlived the payer's answer. */
  close(): Promise<void>;
}

export interface TransferServiceDeps {
  readonly store: TransferStore;
  readonly writer: Writer;
  readonly ledger: Ledger;
  readonly participants: ParticipantService;
  readonly client: NodeClient;
  readonly notifier: Notifier;
  readonly fees: FeeService;
  readonly log: FastifyBaseLogger;
  readonly now: () => number;
  /** Counts transfers by state and times prepare, forward and commit (absent: nothing is counted). */
  readonly metrics?: HubMetrics;
  /** Longest wait for a payee's answer (default 10 s); never beyond the earliest expiry of the batch. */
  readonly forwardTimeoutMs?: number;
}

type Decision =
  | { readonly kind: 'commit'; readonly t: TransferPrepare; readonly receipt: string }
  | {
      readonly kind: 'abort';
      readonly t: TransferPrepare;
      readonly reason: string;
      readonly message?: string;
    };

export function createTransferService(deps: TransferServiceDeps): TransferService {
  const { store, writer, ledger, participants, client, notifier, log, now, metrics } = deps;
  const forwardTimeoutMs = deps.forwardTimeoutMs ?? 10_000;
  /** Transfers whose admission is under way, so a duplicate waits for it instead of racing it. */
  const admitting = new Map<string, Promise<unknown>>();
  /** Transfers on the wire to their payee, so a duplicate prepare does not forward them twice. */
  const forwarding = new Set<string>();
  /** Exchanges with payees still running after the payer got its answer. */
  const background = new Set<Promise<unknown>>();

  const settleLedger = createLedgerFollower({ ledger, store, writer, log });

  /** After transitions committed: ledger, then notifications. */
  const afterTransitions = async (transitions: readonly Transition[]): Promise<void> => {
    const changed = transitions.filter((t) => t.changed).map((t) => t.record);
    if (changed.length === 0) return;
    for (const r of changed) metrics?.transfers(r.state);
    await settleLedger(changed);
    // The transitions queued the outbox rows; waking a processor with nothing queued costs one read.
    notifier.kick(changed.flatMap((r) => [r.payer, r.payee]));
  };

  const validate = (t: TransferPrepare, at: number) => checkPrepare(t, at, participants);

  /** A prepare for a transfer the hub already knows. */
  const existing = (t: TransferPrepare, r: TransferRecord): Admission => {
    if (r.contentHash !== contentHash(t)) {
      return refused(t.transferId, 'TRANSFER_CONFLICT', 'A transfer with this id exists with other content.');
    }
    // A payer retrying a reservation whose payee never answered: ask the payee again, with the fees fixed
    // when it was first prepared.
    if (r.state === 'RESERVED' && r.expiresAt > now() && !forwarding.has(t.transferId)) {
      forwarding.add(t.transferId);
      return { forward: toPayee(withHubFees(t, r.fees)) };
    }
    return { result: resultOf(r) };
  };

  /**
   * Admits distinct transfers of one prepare, all sent by their payer: each is known (answered from its
   * record), refused, or recorded and reserved, to forward. The rows are committed before the ledger
   * reserves, so the ledger never holds a reservation the hub does not know of.
   */
  const admitNow = async (transfers: readonly TransferPrepare[]): Promise<Map<string, Admission>> => {
    const out = new Map<string, Admission>();
    const at = now();
    const checked: TransferPrepare[] = [];
    const invalid = new Map<string, Admission>();
    for (const t of transfers) {
      const refusal = validate(t, at);
      if (refusal) invalid.set(t.transferId, refusal);
      else checked.push(t);
    }
    // The fees are fixed now, for the life of the transfer (a retry of a known id keeps its recorded ones).
    const fees = await deps.fees.forPrepares(checked);
    const valid = checked.map((t) => withHubFees(t, fees.get(t.transferId)));
    // Insert first: a new transfer (the usual case) costs no read; one the hub knows is left as it is.
    const inserted =
      valid.length === 0
        ? new Set<string>()
        : await writer.write((tx) => store.insertReserved(tx, valid, at));
    const known = await store.getMany(
      transfers.filter((t) => !inserted.has(t.transferId)).map((t) => t.transferId),
    );
    for (const t of transfers) {
      const r = known.get(t.transferId);
      if (r) out.set(t.transferId, existing(t, r));
      else if (!inserted.has(t.transferId)) {
        const refusal = invalid.get(t.transferId);
        if (!refusal) throw new Error(`transfer ${t.transferId} vanished`);
        out.set(t.transferId, refusal);
      }
    }
    const added = valid.filter((t) => inserted.has(t.transferId));
    if (added.length === 0) return out;
    const results = await ledger.execute(added.map(reservation));
    const refusals: Abort[] = [];
    added.forEach((t, i) => {
      const res = results[i];
      if (res?.ok) {
        forwarding.add(t.transferId);
        out.set(t.transferId, { forward: toPayee(t) });
        log.debug({ traceId: t.traceId, transferId: t.transferId }, 'transfer reserved');
        return;
      }
      const reason = refusalCode(res?.code);
      if (reason === 'INTERNAL')
        log.error({ transferId: t.transferId, code: res?.code }, 'ledger refused a reservation');
      refusals.push({ transferId: t.transferId, reason });
    });
    metrics?.transfers('RESERVED', added.length - refusals.length);
    if (refusals.length > 0) {
      const transitions = await writer.write((tx) => store.refuse(tx, refusals, now()));
      metrics?.transfers('ABORTED', transitions.filter((tr) => tr.changed).length);
      for (const tr of transitions) out.set(tr.record.transferId, { result: resultOf(tr.record) });
    }
    return out;
  };

  /** `admitNow`, after any admission of the same ids by another call has finished. */
  const admit = async (transfers: readonly TransferPrepare[]): Promise<Map<string, Admission>> => {
    const ids = transfers.map((t) => t.transferId);
    for (;;) {
      const busy = ids.flatMap((id) => admitting.get(id) ?? []);
      if (busy.length === 0) break;
      await Promise.allSettled(busy);
    }
    // Claimed in the same synchronous step as the check above, so two calls never admit one id at once.
    const work = admitNow(transfers);
    for (const id of ids) admitting.set(id, work);
    try {
      return await work;
    } finally {
      for (const id of ids) if (admitting.get(id) === work) admitting.delete(id);
    }
  };

  /**
   * After a crash between recording a transfer and reserving it, the ledger may lack the reservation:
   * re-issue every open one (a replay when it exists). One the ledger now refuses is aborted and both told.
   */
  const reissueReservations = async (): Promise<void> => {
    const open = await store.allReserved();
    if (open.length === 0) return;
    const results = await ledger.execute(open.map(reservation));
    const refusals = open.flatMap((r, i): Abort[] => {
      const res = results[i];
      return res?.ok ? [] : [{ transferId: r.transferId, reason: refusalCode(res?.code) }];
    });
    if (refusals.length === 0) return;
    log.warn({ count: refusals.length }, 'reservations refused on restart');
    const transitions = await writer.write((tx) => store.abort(tx, refusals, now()));
    await afterTransitions(transitions);
  };

  /** Forwards one payee's transfers and applies its answers; returns the payer's results by transfer id. */
  const forward = async (
    payee: string,
    transfers: readonly TransferPrepare[],
  ): Promise<Map<string, PrepareResult>> => {
    const untilExpiry = Math.min(...transfers.map((t) => t.expiresAt)) - now();
    // The payee may answer until the earliest expiry; the payer waits at most forwardTimeoutMs. An answer
    // that comes after the payer was answered is still applied (a fulfil before expiry commits) and reaches
    // the payer by notify.
    const work = exchange(payee, transfers, untilExpiry);
    background.add(work);
    void work.finally(() => background.delete(work));
    return withDeadline(work, Math.min(forwardTimeoutMs, untilExpiry));
  };

  /** Applies a payee's decisions: commits and aborts in one write; the transition of each, in order. */
  const decide = async (decisions: readonly Decision[], receivedAt: number): Promise<Transition[]> => {
    const fulfilments: Fulfilment[] = [];
    const aborts: Abort[] = [];
    for (const d of decisions) {
      if (d.kind === 'commit') fulfilments.push({ transferId: d.t.transferId, receipt: d.receipt });
      else aborts.push({ transferId: d.t.transferId, reason: d.reason });
    }
    const transitions = await writer.write(async (tx) => [
      ...(fulfilments.length > 0 ? await store.commit(tx, fulfilments, receivedAt, now()) : []),
      ...(aborts.length > 0 ? await store.abort(tx, aborts, now()) : []),
    ]);
    const byId = new Map(transitions.map((tr) => [tr.record.transferId, tr]));
    return decisions.map((d) => byId.get(d.t.transferId)!);
  };

  /** Sends the prepare to the payee and applies its answers. */
  const exchange = async (
    payee: string,
    transfers: readonly TransferPrepare[],
    timeoutMs: number,
  ): Promise<Map<string, PrepareResult>> => {
    const out = new Map<string, PrepareResult>();
    let answers: FulfilResult[] = [];
    let receivedAt = 0;
    try {
      const p = participants.get(payee);
      if (p && timeoutMs > 0) {
        const sent = performance.now();
        const answer = await client.send(
          PROCESSOR_MESSAGES,
          p.baseUrl,
          payee,
          'transfer.prepare',
          { transfers: [...transfers] },
          {
            timeoutMs,
          },
        );
        receivedAt = now();
        metrics?.step('hub_forward', sent, transfers.length);
        answers = answer.results;
      }
    } catch (e) {
      const code = e instanceof SemopsError ? e.code : 'INTERNAL';
      log.warn({ payee, count: transfers.length, code }, 'forwarded prepare got no usable answer');
    } finally {
      for (const t of transfers) forwarding.delete(t.transferId);
    }
    if (answers.length === 0) return out;

    const byId = new Map(transfers.map((t) => [t.transferId, t]));
    const decisions: Decision[] = [];
    for (const a of answers) {
      const t = byId.get(a.transferId);
      if (!t) continue;
      byId.delete(a.transferId); // one answer per transfer
      if (a.decision === 'REJECT') {
        decisions.push({
          kind: 'abort',
          t,
          reason: a.error?.code ?? 'TRANSFER_REJECTED',
          message: a.error?.message,
        });
      } else if (a.receipt !== undefined) {
        // The payee's signed envelope is the fulfilment; the receipt inside is sealed to the payer.
        decisions.push({ kind: 'commit', t, receipt: a.receipt });
      } else {
        decisions.push({
          kind: 'abort',
          t,
          reason: 'TRANSFER_REJECTED',
          message: 'The payee fulfilled without a sealed receipt for the payer.',
        });
      }
    }
    const deciding = performance.now();
    const transitions = await decide(decisions, receivedAt);
    await afterTransitions(transitions);
    metrics?.step('hub_commit', deciding, decisions.length);
    transitions.forEach((tr, i) => {
      const d = decisions[i]!;
      log.debug(
        { traceId: d.t.traceId, transferId: d.t.transferId, state: tr.record.state },
        'transfer decided',
      );
      const ownAbort = d.kind === 'abort' && tr.changed && tr.record.reason === d.reason;
      out.set(tr.record.transferId, resultOf(tr.record, ownAbort ? d.message : undefined));
    });
    return out;
  };

  return {
    async prepare(sender, transfers) {
      const received = performance.now();
      // Per position in the batch: an answer now, or the id whose admission answers it.
      const early = new Map<number, PrepareResult>();
      const firstOf = new Map<string, TransferPrepare>();
      transfers.forEach((t, i) => {
        const first = firstOf.get(t.transferId);
        if (t.payer !== sender) {
          early.set(
            i,
            refusal(t.transferId, 'FORBIDDEN', 'Only the payer processor may prepare its transfers.'),
          );
        } else if (first === undefined) {
          firstOf.set(t.transferId, t);
        } else if (contentHash(first) !== contentHash(t)) {
          early.set(
            i,
            refusal(t.transferId, 'TRANSFER_CONFLICT', 'The batch holds this id twice, with other content.'),
          );
        }
      });
      const admissions = await admit([...firstOf.values()]);
      metrics?.step('hub_prepare', received, firstOf.size);

      const groups = new Map<string, TransferPrepare[]>();
      for (const id of firstOf.keys()) {
        const a = admissions.get(id);
        if (!a || !('forward' in a)) continue;
        const g = groups.get(a.forward.payee) ?? [];
        g.push(a.forward);
        groups.set(a.forward.payee, g);
      }
      const answered = new Map<string, PrepareResult>();
      const maps = await Promise.all([...groups].map(([payee, g]) => forward(payee, g)));
      for (const m of maps) for (const [id, r] of m) answered.set(id, r);
      // Unanswered transfers stay RESERVED, unless the expiry timer ended them while the payee was silent.
      const unanswered = [...admissions.values()].flatMap((a) =>
        'forward' in a && !answered.has(a.forward.transferId) ? [a.forward.transferId] : [],
      );
      const current = await store.getMany(unanswered);
      const resultFor = (id: string): PrepareResult => {
        const answer = answered.get(id);
        if (answer) return answer;
        const a = admissions.get(id);
        if (a && 'result' in a) return a.result;
        const r = current.get(id);
        return r ? resultOf(r) : { transferId: id, state: 'RESERVED' };
      };
      // A duplicate inside the batch gets the answer of its first occurrence.
      return transfers.map((t, i) => early.get(i) ?? resultFor(t.transferId));
    },

    async status(sender, transferIds) {
      const known = await store.getMany(transferIds);
      return transferIds.map((transferId): StatusEntry => {
        const r = known.get(transferId);
        if (!r || (r.payer !== sender && r.payee !== sender)) return { transferId, state: 'UNKNOWN' };
        return {
          transferId,
          state: r.state,
          amount: r.amount,
          payer: r.payer,
          payee: r.payee,
          expiresAt: r.expiresAt,
          ...(r.reason === undefined ? {} : { reason: r.reason }),
          ...(r.fees === undefined ? {} : { fees: r.fees }),
        };
      });
    },

    get: (transferId) => store.get(transferId),

    async followLedger(transferIds) {
      const records = [...(await store.getMany(transferIds)).values()];
      const todo = records.filter((r) => !r.ledgerDone);
      const done = new Set(await settleLedger(todo));
      return todo.every((r) => done.has(r.transferId));
    },

    async close() {
      await Promise.allSettled([...background]);
    },

    async resumeForwarding() {
      const at = now();
      const groups = new Map<string, TransferPrepare[]>();
      for (const r of await store.allReserved()) {
        if (r.expiresAt <= at || forwarding.has(r.transferId)) continue;
        forwarding.add(r.transferId);
        const t: TransferPrepare = {
          transferId: r.transferId,
          requestId: r.requestId,
          ...(r.refundOf === undefined ? {} : { refundOf: r.refundOf }),
          payer: r.payer,
          payee: r.payee,
          amount: r.amount,
          expiresAt: r.expiresAt,
          ...(r.purpose === undefined ? {} : { purpose: r.purpose }),
          ...(r.fees === undefined ? {} : { fees: r.fees }),
        };
        const g = groups.get(r.payee) ?? [];
        g.push(t);
        groups.set(r.payee, g);
      }
      for (const [payee, transfers] of groups) {
        for (let i = 0; i < transfers.length; i += MAX_BATCH)
          void forward(payee, transfers.slice(i, i + MAX_BATCH));
      }
    },

    async sweep(opts = {}) {
      if (opts.startup) await reissueReservations();
      const at = now();
      // A transfer still being admitted may not hold its ledger reservation yet: leave it to the next sweep.
      const due = (await store.dueForExpiry(at, SWEEP_LIMIT)).filter((id) => !admitting.has(id));
      if (due.length > 0) {
        const transitions = await writer.write((tx) => store.expire(tx, due, now()));
        await afterTransitions(transitions);
      }
      const behind = await store.ledgerBehind(
        opts.startup ? Number.MAX_SAFE_INTEGER : at - LEDGER_RETRY_AFTER_MS,
        SWEEP_LIMIT,
      );
      await settleLedger(behind);
    },
  };
}
