/**
 * The node messages the hub answers on `POST /v1/messages` (`HUB_MESSAGES`). Bodies arrive already parsed
 * with their schema by `registerMessageEndpoint`; they carry no customer data and are never logged.
 */
import type { MessageHandlers } from '@semops/node';
import type { HUB_MESSAGES } from '@semops/protocol';
import type { DirectoryService } from './directory/service.js';
import type { ParticipantService } from './participants/service.js';
import type { RequestRouter } from './requests/service.js';
import type { TransferService } from './transfers/service.js';

export interface MessageDeps {
  readonly transfers: TransferService;
  readonly directory: DirectoryService;
  readonly requests: RequestRouter;
  readonly participants: ParticipantService;
}

export function messageHandlers(deps: MessageDeps): MessageHandlers<typeof HUB_MESSAGES> {
  const { transfers, directory, requests, participants } = deps;
  return {
    'transfer.prepare': async (body, env) => ({
      results: await transfers.prepare(env.sender, body.transfers),
    }),
    'transfer.status': async (body, env) => ({
      transfers: await transfers.status(env.sender, body.transferIds),
    }),
    'directory.register': (body, env) => directory.register(env.sender, body.aliases),
    'directory.lookup': (body) => directory.lookup(body.alias),
    'party.lookup': (body, env) => requests.relay('party.lookup', env.sender, body),
    'inbox.deliver': (body, env) => requests.relay('inbox.deliver', env.sender, body),
    'inbox.declined': (body, env) => requests.relay('inbox.declined', env.sender, body),
    'biller.lookup': (body, env) => requests.relay('biller.lookup', env.sender, body),
    'request.lookup': (body, env) => requests.lookup(env.sender, body.ref),
    'request.lookups': (body, env) => requests.lookups(env.sender, body.refs),
    'keys.rotate': (body, env) => participants.rotate(env.sender, body),
    'keys.retire': (body, env) => participants.retire(env.sender, body),
  };
}
