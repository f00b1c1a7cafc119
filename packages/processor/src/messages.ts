/**
 * The node messages a processor answers on `POST /v1/messages` (`PROCESSOR_MESSAGES`), all sent by the hub:
 * questions it relays from another processor (with `requester`, the processor that asked), the payee's part
 * of a transfer, transfer outcomes and settlement notices. Bodies arrive parsed; the endpoint refuses every
 * other sender (`PROCESSOR_MESSAGE_SENDERS`).
 */
import type { MessageHandlers } from '@semops/node';
import { SemopsError, type LookupOutcome, type PROCESSOR_MESSAGES } from '@semops/protocol';
import type { BillService } from './bills/service.js';
import type { P2pService } from './p2p/service.js';
import type { PaymentService } from './payments/service.js';
import type { RequestService } from './requests/service.js';
import type { SettlementService } from './settlement/service.js';

/** Who may send a processor messages: the hub only. */
export const PROCESSOR_MESSAGE_SENDERS = ['hub'] as const;

export interface ProcessorMessageDeps {
  readonly requests: RequestService;
  readonly payments: PaymentService;
  readonly p2p: P2pService;
  readonly bills: BillService;
  readonly settlement: SettlementService;
}

/** A lookup of a batch that failed on its own: its error takes its place in the answer. */
const lookupError = (e: unknown): LookupOutcome => {
  if (!(e instanceof SemopsError)) throw e;
  return { error: { code: e.code, message: e.message.slice(0, 300) } };
};

export function processorMessageHandlers(
  deps: ProcessorMessageDeps,
): MessageHandlers<typeof PROCESSOR_MESSAGES> {
  const { requests, payments, p2p, bills, settlement } = deps;
  return {
    'request.lookup': (body) => requests.lookupForPeer(body.ref, body.requester),
    'request.lookups': async ({ refs, requester }) => ({
      results: await Promise.all(
        refs.map((ref) => requests.lookupForPeer(ref, requester).catch(lookupError)),
      ),
    }),
    'party.lookup': (body) => p2p.partyLookupForPeer(body.alias, body.requester),
    'inbox.deliver': (body) => p2p.inboxDeliverForPeer(body.sealed, body.requester),
    'inbox.declined': (body) => p2p.inboxDeclinedForPeer(body.requestId),
    'biller.lookup': (body) => bills.billerLookupForPeer(body.sealed, body.requester),
    'transfer.prepare': async ({ transfers }) => ({
      results: await Promise.all(transfers.map((t) => requests.accept(t))),
    }),
    'transfer.notify': async ({ events }) => {
      await payments.onEvents(events);
      return { ok: true };
    },
    'settlement.notice': (notice) => settlement.book(notice),
  };
}
