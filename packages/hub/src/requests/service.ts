/**
 * `request.lookup` routing: a payer processor asks for a payment request by `{ processorId, requestId }` or
 * by a short code whose first three digits are the payee processor's routing prefix. The hub forwards the
 * question with `requester` set to the asking processor and relays the answer, a JWE sealed to the
 * requester that the hub cannot read.
 */
import { parse, type NodeClient } from '@semops/node';
import { SemopsError, requestLookupResult, type RequestRef } from '@semops/protocol';
import type { ParticipantService } from '../participants/service.js';

export interface RequestRouter {
  lookup(requester: string, ref: RequestRef): Promise<{ sealed: string }>;
  /**
   * Relays a message between processors (`party.lookup`, `inbox.deliver`, `inbox.declined`): forwards the
   * body to `body.processorId` with `requester` set to the sender and returns the answer as it came. The
   * bodies carry blinded aliases and JWEs only, nothing the hub can read.
   */
  relay(type: RelayedType, requester: string, body: { processorId: string }): Promise<unknown>;
}

export type RelayedType = 'party.lookup' | 'inbox.deliver' | 'inbox.declined' | 'biller.lookup';

export function createRequestRouter(deps: {
  participants: ParticipantService;
  client: NodeClient;
  timeoutMs?: number;
}): RequestRouter {
  return {
    async relay(type, requester, body) {
      const to = deps.participants.get(body.processorId);
      if (!to) throw new SemopsError('PARTICIPANT_NOT_FOUND', `No participant ${body.processorId}.`);
      if (to.id === requester) {
        throw new SemopsError('VALIDATION_FAILED', 'A processor does not relay messages to itself.');
      }
      return deps.client.send(
        to.baseUrl,
        to.id,
        type,
        { ...body, requester },
        deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs },
      );
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
      const answer = await deps.client.send(
        payee.baseUrl,
        payee.id,
        'request.lookup',
        { ref, requester },
        deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs },
      );
      try {
        return parse(requestLookupResult, answer);
      } catch (e) {
        throw new SemopsError('PARTICIPANT_UNREACHABLE', `${payee.id} gave an invalid answer.`, undefined, {
          cause: e,
        });
      }
    },
  };
}
