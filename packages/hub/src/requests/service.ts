/**
 * `request.lookup` routing: a payer processor asks for a payment request by `{ processorId, requestId }` or
 * by a short code whose first three digits are the payee processor's routing prefix. The hub forwards the
 * question with `requester` set to the asking processor and relays the answer, a JWE sealed to the
 * requester that the hub cannot read.
 */
import type { NodeClient } from '@semops/node';
import {
  PROCESSOR_MESSAGES,
  SemopsError,
  type LookupOutcome,
  type MessageBody,
  type MessageResult,
  type RequestRef,
} from '@semops/protocol';
import type { ParticipantService } from '../participants/service.js';

export interface RequestRouter {
  lookup(requester: string, ref: RequestRef): Promise<{ sealed: string }>;
  /**
   * Many lookups of one requester: forwarded as one `request.lookups` per payee processor (in parallel), the
   * answers put back in the order asked. A ref no processor serves, or whose processor fails, gets its error.
   */
  lookups(requester: string, refs: readonly RequestRef[]): Promise<{ results: LookupOutcome[] }>;
  /**
   * Relays a message between processors (`party.lookup`, `inbox.deliver`, `inbox.declined`): forwards the
   * body to `body.processorId` with `requester` set to the sender and returns the answer as it came. The
   * bodies carry blinded aliases and JWEs only, nothing the hub can read.
   */
  relay<K extends RelayedType>(
    type: K,
    requester: string,
    body: { readonly processorId: string } & Omit<MessageBody<typeof PROCESSOR_MESSAGES, K>, 'requester'>,
  ): Promise<MessageResult<typeof PROCESSOR_MESSAGES, K>>;
}

export type RelayedType = 'party.lookup' | 'inbox.deliver' | 'inbox.declined' | 'biller.lookup';

/** A payee's answer that does not parse is, for the processor that asked, an unreachable payee. */
const invalidAnswer =
  (payeeId: string) =>
  (e: unknown): never => {
    if (e instanceof SemopsError && e.code === 'MESSAGE_MALFORMED') {
      throw new SemopsError('PARTICIPANT_UNREACHABLE', `${payeeId} gave an invalid answer.`, undefined, {
        cause: e,
      });
    }
    throw e;
  };

export function createRequestRouter(deps: {
  participants: ParticipantService;
  client: NodeClient;
  timeoutMs?: number;
}): RequestRouter {
  /** The processor that serves a ref, or why none does. */
  const payeeOf = (ref: RequestRef) => {
    const payee =
      'processorId' in ref
        ? deps.participants.get(ref.processorId)
        : deps.participants.byRoutingPrefix(ref.shortCode.slice(0, 3));
    if (payee) return payee;
    return 'processorId' in ref
      ? new SemopsError('PARTICIPANT_NOT_FOUND', `No participant ${ref.processorId}.`)
      : new SemopsError('REQUEST_NOT_FOUND', 'No processor uses the routing prefix of this code.');
  };
  return {
    async relay(type, requester, body) {
      const to = deps.participants.get(body.processorId);
      if (!to) throw new SemopsError('PARTICIPANT_NOT_FOUND', `No participant ${body.processorId}.`);
      if (to.id === requester) {
        throw new SemopsError('VALIDATION_FAILED', 'A processor does not relay messages to itself.');
      }
      // The body the processor asked with, and who asked (what the relayed message adds to it).
      const relayed = { ...body, requester } as MessageBody<typeof PROCESSOR_MESSAGES, typeof type>;
      return deps.client.send(
        PROCESSOR_MESSAGES,
        to.baseUrl,
        to.id,
        type,
        relayed,
        deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs },
      );
    },

    async lookups(requester, refs) {
      const results: LookupOutcome[] = new Array<LookupOutcome>(refs.length);
      const byPayee = new Map<string, { baseUrl: string; at: number[] }>();
      refs.forEach((ref, i) => {
        const payee = payeeOf(ref);
        if (payee instanceof SemopsError) {
          results[i] = { error: { code: payee.code, message: payee.message } };
          return;
        }
        const group = byPayee.get(payee.id) ?? { baseUrl: payee.baseUrl, at: [] };
        group.at.push(i);
        byPayee.set(payee.id, group);
      });
      await Promise.all(
        [...byPayee].map(async ([payeeId, { baseUrl, at }]) => {
          try {
            const answer = await deps.client
              .send(
                PROCESSOR_MESSAGES,
                baseUrl,
                payeeId,
                'request.lookups',
                { refs: at.map((i) => refs[i]!), requester },
                deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs },
              )
              .catch(invalidAnswer(payeeId));
            if (answer.results.length !== at.length) {
              throw new SemopsError('PARTICIPANT_UNREACHABLE', `${payeeId} gave an invalid answer.`);
            }
            at.forEach((i, k) => (results[i] = answer.results[k]!));
          } catch (e) {
            const err = e instanceof SemopsError ? e : new SemopsError('PARTICIPANT_UNREACHABLE');
            for (const i of at)
              results[i] = { error: { code: err.code, message: err.message.slice(0, 300) } };
          }
        }),
      );
      return { results };
    },

    async lookup(requester, ref) {
      const payee =
        'processorId' in ref
          ? deps.participants.get(ref.processorId)
          : deps.participants.byRoutingPrefix(ref.shortCode.slice(0, 3));
      if (!payee) {
        if ('processorId' in ref)
          throw new SemopsError('PARTICIPANT_NOT_FOUND', `No participant ${ref.processorId}.`);
        throw new SemopsError('REQUEST_NOT_FOUND', 'No processor uses the routing prefix of this code.');
      }
      return deps.client
        .send(
          PROCESSOR_MESSAGES,
          payee.baseUrl,
          payee.id,
          'request.lookup',
          { ref, requester },
          deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs },
        )
        .catch(invalidAnswer(payee.id));
    },
  };
}
