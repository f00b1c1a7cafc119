/**
 * Signed messaging between nodes: the `POST /v1/messages` endpoint every node exposes, and the client that
 * sends a message over keep-alive HTTP and verifies the signed answer.
 */
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import {
  MAX_MESSAGE_LENGTH,
  SemopsError,
  errorFromBody,
  openMessage,
  sealMessage,
  type Envelope,
  type HandlerResult,
  type Key,
  type MessageBody,
  type MessageResult,
  type MessageRouter,
  type ParsedBody,
  type ReplayGuard,
  type Signer,
} from '@semops/protocol';
import { parse, perAddress } from './http.js';
import { createNodeDispatcher, type TlsPins } from './tls.js';

/** The public key a key id names (`bank-a#…`, or a bare node id); may throw KEY_RETIRED. */
export type KeyResolver = (kid: string) => Promise<Key | undefined> | Key | undefined;

/**
 * One handler per message type of a router: it gets the body parsed with the router's schema and the opened
 * envelope (for its sender), and returns the result body.
 */
export type MessageHandlers<M extends MessageRouter> = {
  readonly [K in keyof M]: (body: ParsedBody<M, K>, env: Envelope) => Promise<HandlerResult<M, K>>;
};

export interface MessageEndpointOptions<M extends MessageRouter> {
  readonly signer: Signer;
  readonly resolveKey: KeyResolver;
  readonly replay: ReplayGuard;
  /** The messages this node answers (`HUB_MESSAGES` or `PROCESSOR_MESSAGES`) and a handler for each. */
  readonly router: M;
  readonly handlers: Partial<MessageHandlers<M>>;
  /** The only nodes that may send here (a processor: the hub); by default every node with a known key. */
  readonly senders?: readonly string[];
  readonly now?: () => number;
}

/** Registers `POST /v1/messages`. */
export function registerMessageEndpoint<M extends MessageRouter>(
  app: FastifyInstance,
  opts: MessageEndpointOptions<M>,
): void {
  const now = opts.now ?? Date.now;
  const specs: Readonly<Record<string, MessageRouter[string] | undefined>> = opts.router;
  const handlers = opts.handlers as Readonly<
    Record<string, (body: unknown, env: Envelope) => Promise<unknown>>
  >;
  // Batches of prepares and notifications are larger than what customers may send (BODY_LIMIT).
  app.post(
    '/v1/messages',
    // Per peer address: node links carry batches, so the limit only stops a flood.
    { bodyLimit: MAX_MESSAGE_LENGTH + 1024, config: { rateLimit: perAddress(60_000, 'messages') } },
    async (req) => {
      const jws = (req.body as { jws?: unknown } | null)?.jws;
      const env = await openMessage(jws, { me: opts.signer.id, resolveKey: opts.resolveKey, now: now() });
      if (!opts.replay.remember(env.id, env.expiresAt)) throw new SemopsError('MESSAGE_REPLAYED');
      const spec = Object.hasOwn(specs, env.type) ? specs[env.type] : undefined;
      const handler = spec ? handlers[env.type] : undefined;
      if (!spec || !handler)
        throw new SemopsError('UNKNOWN_MESSAGE_TYPE', `This node does not handle ${env.type.slice(0, 40)}.`);
      if (opts.senders && !opts.senders.includes(env.sender)) {
        throw new SemopsError('FORBIDDEN', `${env.type} must come from ${opts.senders.join(' or ')}.`);
      }
      const result = await handler(parse(spec.body, env.body), env);
      const sealed = await sealMessage(opts.signer, env.sender, `${env.type}.result`, result, { now: now() });
      return { jws: sealed.jws };
    },
  );
}

export interface NodeClientOptions {
  readonly signer: Signer;
  readonly resolveKey: KeyResolver;
  /** Default time to wait for an answer. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
  /** Pinned TLS certificates of peers (tls.ts); without it, https peers are checked against the system CAs. */
  readonly tls?: TlsPins;
}

export interface NodeClient {
  /**
   * Sends a signed message of `router` and returns the verified result, parsed with the router's result
   * schema; throws SemopsError on any failure (MESSAGE_MALFORMED for an answer that does not parse).
   */
  send<M extends MessageRouter, K extends keyof M & string>(
    router: M,
    baseUrl: string,
    receiver: string,
    type: K,
    body: MessageBody<M, K>,
    opts?: { timeoutMs?: number },
  ): Promise<MessageResult<M, K>>;
  /** Plain JSON GET (public endpoints such as the participant list, `/health`). */
  getJson(url: string, opts?: { timeoutMs?: number }): Promise<unknown>;
  close(): Promise<void>;
}

export function createNodeClient(opts: NodeClientOptions): NodeClient {
  const now = opts.now ?? Date.now;
  const dispatcher = createNodeDispatcher(opts.tls);
  const defaultTimeout = opts.timeoutMs ?? 10_000;
  return {
    async send(router, baseUrl, receiver, type, body, sendOpts = {}) {
      const timeout = sendOpts.timeoutMs ?? defaultTimeout;
      const { jws } = await sealMessage(opts.signer, receiver, type, body, { now: now() });
      let status: number;
      let answer: unknown;
      try {
        const res = await request(`${baseUrl}/v1/messages`, {
          method: 'POST',
          dispatcher,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jws }),
          // undici's own timeouts tick in whole seconds; a signal keeps short deadlines exact.
          signal: AbortSignal.timeout(timeout),
        });
        status = res.statusCode;
        answer = await res.body.json();
      } catch (e) {
        if (e instanceof SemopsError) throw e; // PEER_CERTIFICATE_MISMATCH: refused before sending
        throw new SemopsError('PARTICIPANT_UNREACHABLE', `${receiver} did not answer ${type}.`, undefined, {
          cause: e,
        });
      }
      if (status !== 200) throw errorFromBody(answer, status);
      const env = await openMessage((answer as { jws?: unknown } | null)?.jws, {
        me: opts.signer.id,
        resolveKey: opts.resolveKey,
        now: now(),
      });
      if (env.sender !== receiver || env.type !== `${type}.result`) {
        throw new SemopsError('MESSAGE_MALFORMED', `Unexpected answer from ${receiver}.`);
      }
      const result = router[type]!.result.safeParse(env.body);
      if (!result.success) {
        throw new SemopsError(
          'MESSAGE_MALFORMED',
          `${receiver} answered ${type} with a body that does not parse.`,
        );
      }
      return result.data as MessageResult<typeof router, typeof type>;
    },
    async getJson(url, getOpts = {}) {
      try {
        const res = await request(url, {
          dispatcher,
          signal: AbortSignal.timeout(getOpts.timeoutMs ?? defaultTimeout),
        });
        const json = await res.body.json();
        if (res.statusCode !== 200) throw errorFromBody(json, res.statusCode);
        return json;
      } catch (e) {
        if (e instanceof SemopsError) throw e;
        throw new SemopsError('PARTICIPANT_UNREACHABLE', `GET ${url} failed.`, undefined, { cause: e });
      }
    },
    /** Stops the client, aborting requests still in flight (their outcome is settled by reconciliation). */
    async close() {
      await dispatcher.destroy();
    },
  };
}
