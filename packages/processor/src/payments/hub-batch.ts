/**
 * Batching towards the hub: request lookups asked in the same tick travel in one `request.lookups` message,
 * and prepares issued in the same tick in one `transfer.prepare` message (at most `MAX_LOOKUPS` lookups and
 * 500 prepares per message; the rest go in the next tick). Each caller gets its own answer back.
 */
import {
  MAX_LOOKUPS,
  SemopsError,
  isErrorCode,
  type PrepareResult,
  type RequestRef,
  type TransferPrepare,
} from '@semops/protocol';
import type { HubLink } from '../hub/link.js';

export interface HubBatcher {
  /** The request token `ref` names, sealed to this processor by the payee's processor. */
  lookup(ref: RequestRef): Promise<string>;
  /** The hub's answer to one prepare (`UNKNOWN` when the hub's answer leaves it out). */
  prepare(p: TransferPrepare): Promise<PrepareResult>;
}

export function createHubBatcher(hub: HubLink): HubBatcher {
  let lookups: Array<{ ref: RequestRef; resolve: (sealed: string) => void; reject: (e: unknown) => void }> =
    [];
  function lookup(ref: RequestRef): Promise<string> {
    return new Promise((resolve, reject) => {
      lookups.push({ ref, resolve, reject });
      if (lookups.length === 1) setImmediate(() => void flushLookups());
    });
  }
  async function flushLookups(): Promise<void> {
    const batch = lookups.slice(0, MAX_LOOKUPS);
    lookups = lookups.slice(MAX_LOOKUPS);
    if (lookups.length > 0) setImmediate(() => void flushLookups());
    try {
      const { results } = await hub.send('request.lookups', { refs: batch.map((b) => b.ref) });
      batch.forEach((b, i) => {
        const r = results[i];
        if (r === undefined) b.reject(new SemopsError('PARTICIPANT_UNREACHABLE', 'The hub gave no answer.'));
        else if ('sealed' in r) b.resolve(r.sealed);
        else {
          const code = isErrorCode(r.error.code) ? r.error.code : 'PARTICIPANT_UNREACHABLE';
          b.reject(new SemopsError(code, r.error.message));
        }
      });
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }

  let queue: Array<{
    p: TransferPrepare;
    resolve: (r: PrepareResult) => void;
    reject: (e: unknown) => void;
  }> = [];
  function prepare(p: TransferPrepare): Promise<PrepareResult> {
    return new Promise((resolve, reject) => {
      queue.push({ p, resolve, reject });
      if (queue.length === 1) setImmediate(() => void flushPrepares());
    });
  }
  async function flushPrepares(): Promise<void> {
    const batch = queue.slice(0, 500);
    queue = queue.slice(500);
    if (queue.length > 0) setImmediate(() => void flushPrepares());
    try {
      const res = await hub.send(
        'transfer.prepare',
        { transfers: batch.map((b) => b.p) },
        { timeoutMs: 20_000 },
      );
      const byTransfer = new Map(res.results.map((r) => [r.transferId, r]));
      for (const b of batch) {
        b.resolve(byTransfer.get(b.p.transferId) ?? { transferId: b.p.transferId, state: 'UNKNOWN' });
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }

  return { lookup, prepare };
}
