/**
 * The node messages the hub answers on `POST /v1/messages`. Bodies arrive already checked against their
 * schema by `registerMessageEndpoint`; they carry no customer data and are never logged.
 */
import type { MessageHandler } from '@semops/node';
import type {
  billerLookup,
  directoryLookup,
  directoryRegister,
  inboxDeclined,
  inboxDeliver,
  partyLookup,
  prepareBatch,
  requestLookup,
  requestLookups,
  statusQuery,
  z,
} from '@semops/protocol';
import type { DirectoryService } from './directory/service.js';
import type { RequestRouter } from './requests/service.js';
import type { TransferService } from './transfers/service.js';

export interface MessageDeps {
  readonly transfers: TransferService;
  readonly directory: DirectoryService;
  readonly requests: RequestRouter;
}

export function messageHandlers(deps: MessageDeps): Record<string, MessageHandler> {
  return {
    'transfer.prepare': async (env) => {
      const body = env.body as z.infer<typeof prepareBatch>;
      return { results: await deps.transfers.prepare(env.sender, body.transfers) };
    },
    'transfer.status': async (env) => {
      const body = env.body as z.infer<typeof statusQuery>;
      return { transfers: await deps.transfers.status(env.sender, body.transferIds) };
    },
    'directory.register': async (env) => {
      const body = env.body as z.infer<typeof directoryRegister>;
      return deps.directory.register(env.sender, body.aliases);
    },
    'directory.lookup': async (env) => {
      const body = env.body as z.infer<typeof directoryLookup>;
      return deps.directory.lookup(body.alias);
    },
    'party.lookup': async (env) =>
      deps.requests.relay('party.lookup', env.sender, env.body as z.infer<typeof partyLookup>),
    'inbox.deliver': async (env) =>
      deps.requests.relay('inbox.deliver', env.sender, env.body as z.infer<typeof inboxDeliver>),
    'inbox.declined': async (env) =>
      deps.requests.relay('inbox.declined', env.sender, env.body as z.infer<typeof inboxDeclined>),
    'biller.lookup': async (env) =>
      deps.requests.relay('biller.lookup', env.sender, env.body as z.infer<typeof billerLookup>),
    'request.lookup': async (env) => {
      const body = env.body as z.infer<typeof requestLookup>;
      return deps.requests.lookup(env.sender, body.ref);
    },
    'request.lookups': async (env) => {
      const body = env.body as z.infer<typeof requestLookups>;
      return deps.requests.lookups(env.sender, body.refs);
    },
  };
}
