/**
 * A stand-in payment processor for the hub's tests: real Ed25519 / X25519 keys, a real HTTP server with the
 * shared message endpoint, and switchable behaviour (fulfil, reject, never answer; acknowledge notifications
 * or fail; book settlement notices, fail them, or not know them). Not a processor implementation: it only
 * records what the hub sends it.
 */
import {
  HUB_MESSAGES,
  PROCESSOR_MESSAGES,
  RECEIPT_TYP,
  SemopsError,
  z,
  encryptJson,
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  newId,
  nodeOfKeyId,
  publicPart,
  signJson,
  type MessageRouter,
  type Key,
  type KeyPairJwk,
  type Participant,
  type Receipt,
  type SettlementNotice,
  type TransferEvent,
  type TransferPrepare,
} from '@semops/protocol';
import { createNodeClient, createServer, registerMessageEndpoint, type NodeClient } from '@semops/node';
import type { AddressInfo } from 'node:net';

export type PrepareMode = 'fulfil' | 'slow-fulfil' | 'reject' | 'hang' | 'no-receipt';
/**
 * How `settlement.notice` is answered: booked, an error answer, `{ booked: false }`, or as by a processor that
 * does not handle the message yet (UNKNOWN_MESSAGE_TYPE).
 */
export type NoticeMode = 'book' | 'error' | 'not-booked' | 'unknown';

export interface FakeProcessor {
  readonly id: string;
  readonly url: string;
  readonly signing: KeyPairJwk;
  readonly encryption: KeyPairJwk;
  readonly signingKey: Key;
  readonly encryptionPrivateKey: Key;
  /** How forwarded prepares are answered. */
  mode: PrepareMode;
  /** When set, `request.lookup` fails with this code. */
  lookupError: 'REQUEST_NOT_FOUND' | 'REQUEST_EXPIRED' | undefined;
  /** Delay of `slow-fulfil`. */
  slowMs: number;
  /** Whether `transfer.notify` is acknowledged. */
  notifyOk: boolean;
  noticeMode: NoticeMode;
  readonly prepares: TransferPrepare[][];
  readonly notifications: TransferEvent[];
  /** Events of the `transfer.notify` calls refused while `notifyOk` was false, in order (one per attempt). */
  readonly refusedNotifications: TransferEvent[];
  /** Transfers whose prepare this fake has answered (after the delay of `slow-fulfil`), in order. */
  readonly answered: string[];
  /** Settlement notices booked (each window once, however often it came). */
  readonly notices: SettlementNotice[];
  /** How many notices arrived, booked or not. */
  noticeCalls: number;
  readonly lookups: unknown[];
  /** Lets this fake seal `request.lookup` answers to another processor. */
  knowEncryptionKey(processorId: string, key: Key): void;
  participant(routingPrefix: string, currencies?: string[]): Participant;
  /** Sends a signed message to the hub and returns the verified result body. */
  send(type: string, body: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** A receipt of `processorId` for a transfer, signed with `key`. */
export async function signReceipt(t: TransferPrepare, processorId: string, key: Key): Promise<string> {
  const r: Receipt = {
    receiptId: newId('rct'),
    paymentId: t.transferId,
    requestId: t.requestId,
    processorId,
    merchant: { id: 'mer_test', name: 'Test shop', city: 'Vienna', category: '5411' },
    amount: t.amount,
    reference: 'order-1',
    acceptedAt: Date.now(),
  };
  return signJson(r, key, processorId, RECEIPT_TYP);
}

/** The receipt sealed to the payer processor, as a payee answers a prepare. */
export async function sealReceipt(
  t: TransferPrepare,
  processorId: string,
  key: Key,
  payerKey: Key,
): Promise<string> {
  return encryptJson({ receipt: await signReceipt(t, processorId, key) }, payerKey);
}

export async function createFakeProcessor(opts: {
  id: string;
  hubUrl: () => string;
  hubKey: () => Key | undefined;
}): Promise<FakeProcessor> {
  const signing = await generateSigningKeys();
  const encryption = await generateEncryptionKeys();
  const signingKey = await importSigningKey(signing.privateJwk);
  const encryptionPrivateKey = await importEncryptionKey(encryption.privateJwk);
  const signer = { id: opts.id, key: signingKey };
  const resolveKey = (kid: string) => (nodeOfKeyId(kid) === 'hub' ? opts.hubKey() : undefined);
  const seen = new Set<string>();
  const requesterEncryptionKeys = new Map<string, Key>();
  const sealKeyFor = (id: string): Key => {
    const k = requesterEncryptionKeys.get(id);
    if (!k) throw new SemopsError('PARTICIPANT_NOT_FOUND', `No encryption key for ${id}.`);
    return k;
  };
  const hanging = new Set<() => void>();
  const app = createServer();
  const client: NodeClient = createNodeClient({ signer, resolveKey, timeoutMs: 5_000 });

  const self: FakeProcessor = {
    id: opts.id,
    url: '',
    signing,
    encryption,
    signingKey,
    encryptionPrivateKey,
    mode: 'fulfil',
    slowMs: 400,
    lookupError: undefined,
    notifyOk: true,
    noticeMode: 'book',
    prepares: [],
    notifications: [],
    refusedNotifications: [],
    answered: [],
    notices: [],
    noticeCalls: 0,
    lookups: [],
    knowEncryptionKey: (id, key) => void requesterEncryptionKeys.set(id, key),
    participant: (routingPrefix, currencies = ['EUR']) => ({
      id: opts.id,
      name: `Processor ${opts.id}`,
      kind: 'bank',
      baseUrl: self.url,
      currencies,
      routingPrefix,
      signingKey: publicPart(signing.publicJwk) as Participant['signingKey'],
      encryptionKey: publicPart(encryption.publicJwk) as Participant['encryptionKey'],
    }),
    send: (type, body) => {
      // Tests also send what the hub must refuse (unknown types, bad bodies): the answer is parsed only for
      // the types the hub answers.
      const router: MessageRouter = Object.hasOwn(HUB_MESSAGES, type)
        ? HUB_MESSAGES
        : { [type]: { body: z.unknown(), result: z.unknown() } };
      return client.send(router, opts.hubUrl(), 'hub', type, body);
    },
    async close() {
      for (const release of hanging) release();
      await app.close();
      await client.close();
    },
  };

  registerMessageEndpoint(app, {
    router: PROCESSOR_MESSAGES,
    signer,
    resolveKey,
    replay: {
      remember(id) {
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      },
    },
    handlers: {
      'transfer.prepare': async ({ transfers }) => {
        self.prepares.push(transfers);
        switch (self.mode) {
          case 'hang':
            await new Promise<void>((resolve) => {
              const release = (): void => {
                hanging.delete(release);
                resolve();
              };
              hanging.add(release);
              setTimeout(release, 3_000).unref();
            });
            return { results: [] };
          case 'reject':
            return {
              results: transfers.map((t) => ({
                transferId: t.transferId,
                decision: 'REJECT',
                error: { code: 'REQUEST_ALREADY_PAID', message: 'Already paid.' },
              })),
            };
          case 'no-receipt':
            return {
              results: transfers.map((t) => ({ transferId: t.transferId, decision: 'FULFIL' })),
            };
          case 'slow-fulfil':
          case 'fulfil': {
            if (self.mode === 'slow-fulfil') await new Promise((r) => setTimeout(r, self.slowMs));
            const results = await Promise.all(
              transfers.map(async (t) => ({
                transferId: t.transferId,
                decision: 'FULFIL' as const,
                receipt: await sealReceipt(t, opts.id, signingKey, sealKeyFor(t.payer)),
              })),
            );
            self.answered.push(...transfers.map((t) => t.transferId));
            return { results };
          }
        }
      },
      'transfer.notify': async ({ events }) => {
        if (!self.notifyOk) {
          self.refusedNotifications.push(...events);
          throw new SemopsError('UNAVAILABLE');
        }
        self.notifications.push(...events);
        return { ok: true };
      },
      'settlement.notice': async (notice) => {
        self.noticeCalls += 1;
        switch (self.noticeMode) {
          case 'unknown':
            throw new SemopsError('UNKNOWN_MESSAGE_TYPE', 'This node does not handle settlement.notice.');
          case 'error':
            throw new SemopsError('UNAVAILABLE');
          case 'not-booked':
            return { booked: false };
          case 'book':
            if (!self.notices.some((n) => n.windowId === notice.windowId)) self.notices.push(notice);
            return { booked: true };
        }
      },
      'request.lookup': async (body) => {
        self.lookups.push(body);
        if (self.lookupError) throw new SemopsError(self.lookupError);
        const { requester } = body;
        const requesterKey = requesterEncryptionKeys.get(requester);
        if (!requesterKey) throw new SemopsError('REQUEST_NOT_FOUND');
        return { sealed: await encryptJson({ token: `token-from-${opts.id}` }, requesterKey) };
      },
      'request.lookups': async (body) => {
        const { refs, requester } = body;
        self.lookups.push(body);
        const requesterKey = requesterEncryptionKeys.get(requester);
        return {
          results: await Promise.all(
            refs.map(async () =>
              self.lookupError || !requesterKey
                ? { error: { code: self.lookupError ?? 'REQUEST_NOT_FOUND', message: 'refused' } }
                : { sealed: await encryptJson({ token: `token-from-${opts.id}` }, requesterKey) },
            ),
          ),
        };
      },
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  (self as { url: string }).url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return self;
}
