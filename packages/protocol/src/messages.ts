/**
 * The node messages as two routers, one per kind of node that answers them: for each message type, the body
 * the sender signs and the result it gets back (both zod schemas). Processors ask the hub
 * (`HUB_MESSAGES`); the hub asks processors (`PROCESSOR_MESSAGES`): questions it relays from another
 * processor, with `requester` set to who asked, the payee's part of a transfer, outcomes and settlement
 * notices. A node's endpoint parses each body with its router before the handler sees it, and the sender
 * parses each result, so both ends hold typed values.
 *
 * @example
 * const answer: MessageResult<typeof HUB_MESSAGES, 'directory.lookup'> = await hub.send('directory.lookup', { alias });
 */
import { z } from 'zod';
import {
  billerLookup,
  compactJwe,
  directoryLookup,
  directoryLookupResult,
  directoryRegister,
  fulfilBatch,
  inboxDeclined,
  inboxDeliver,
  notifyBatch,
  partyLookup,
  partyLookupResult,
  prepareBatch,
  prepareResultBatch,
  processorId,
  requestLookup,
  requestLookupResult,
  requestLookups,
  requestLookupsResult,
  settlementNotice,
  settlementNoticeResult,
  statusQuery,
  statusResult,
} from './schemas.js';
import { keysRetire, keysRetireResult, keysRotate, keysRotateResult } from './keys.js';

/** A message's body and result schemas. */
export interface MessageSpec<B extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly body: B;
  readonly result: R;
}
/** The messages one kind of node answers, by type. */
export type MessageRouter = Readonly<Record<string, MessageSpec>>;
/** What a sender passes as the body of message `K`. */
export type MessageBody<M extends MessageRouter, K extends keyof M> = z.input<M[K]['body']>;
/** The parsed body a handler of message `K` gets. */
export type ParsedBody<M extends MessageRouter, K extends keyof M> = z.output<M[K]['body']>;
/** The parsed result a sender of message `K` gets back. */
export type MessageResult<M extends MessageRouter, K extends keyof M> = z.output<M[K]['result']>;
/** What a handler of message `K` returns (before the sender parses it). */
export type HandlerResult<M extends MessageRouter, K extends keyof M> = z.input<M[K]['result']>;

/** The answer of a message that only needs to be acknowledged. */
export const acknowledged = z.strictObject({ ok: z.literal(true) });
/** `directory.register`: how many distinct aliases the hub now routes to the sender. */
export const directoryRegisterResult = z.strictObject({ registered: z.number().int().min(0) });
/** `biller.lookup`: the biller's single-use request, its token sealed to the requester. */
export const billerLookupResult = z.strictObject({ sealed: compactJwe });

const spec = <B extends z.ZodType, R extends z.ZodType>(body: B, result: R): MessageSpec<B, R> => ({
  body,
  result,
});

/** Messages the hub answers; every sender is a processor. */
export const HUB_MESSAGES = {
  'request.lookup': spec(requestLookup, requestLookupResult),
  'request.lookups': spec(requestLookups, requestLookupsResult),
  'transfer.prepare': spec(prepareBatch, prepareResultBatch),
  'transfer.status': spec(statusQuery, statusResult),
  'directory.register': spec(directoryRegister, directoryRegisterResult),
  'directory.lookup': spec(directoryLookup, directoryLookupResult),
  'party.lookup': spec(partyLookup, partyLookupResult),
  'inbox.deliver': spec(inboxDeliver, acknowledged),
  'inbox.declined': spec(inboxDeclined, acknowledged),
  'biller.lookup': spec(billerLookup, billerLookupResult),
  /** The sender's next signing key, signed by its current key (see keys.ts). */
  'keys.rotate': spec(keysRotate, keysRotateResult),
  /** Ends the overlap of the sender's previous key now. */
  'keys.retire': spec(keysRetire, keysRetireResult),
} as const satisfies MessageRouter;

/** A question relayed by the hub names the processor that asked it. */
const asker = { requester: processorId };

/** Messages a processor answers; the hub is the only sender. */
export const PROCESSOR_MESSAGES = {
  'request.lookup': spec(requestLookup.extend(asker), requestLookupResult),
  'request.lookups': spec(requestLookups.extend(asker), requestLookupsResult),
  'party.lookup': spec(partyLookup.extend(asker), partyLookupResult),
  'inbox.deliver': spec(inboxDeliver.extend(asker), acknowledged),
  'inbox.declined': spec(inboxDeclined.extend(asker), acknowledged),
  'biller.lookup': spec(billerLookup.extend(asker), billerLookupResult),
  'transfer.prepare': spec(prepareBatch, fulfilBatch),
  'transfer.notify': spec(notifyBatch, acknowledged),
  'settlement.notice': spec(settlementNotice, settlementNoticeResult),
} as const satisfies MessageRouter;

export type HubMessageType = keyof typeof HUB_MESSAGES;
export type ProcessorMessageType = keyof typeof PROCESSOR_MESSAGES;
