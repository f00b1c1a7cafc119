/**
 * For the channel tests: a real processor node in this process (its own SQLite file in a temporary
 * directory, no hub needed for payments inside it), a settable clock, and helpers that act as the operator,
 * a merchant, a wallet enrolment and the SMS/USSD gateways, all through the node's HTTP routes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACTION_TYP,
  APPROVAL_TYP,
  encryptJson,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  publicPart,
  randomToken,
  signJson,
  type DeviceActionName,
  type JWK,
  type MoneyWire,
} from '@semops/protocol';
import { createProcessor, type ProcessorNode } from '../app.js';
import type { FxOptions } from '../fx/service.js';

/** A customer made by the test node, with its enrolled device (access token and key) for wallet calls. */
export interface TestCustomer {
  readonly id: string;
  readonly phone: string;
  readonly token: string;
  readonly deviceId: string;
  /** A device approval of `amount` for a resolved request, signed as the wallet does. */
  approval(
    r: { readonly requestId: string; readonly processorId: string },
    amount: MoneyWire,
    pin: string,
    quoteId?: string,
  ): Promise<string>;
  /** A device-signed account action (`alias.set`, `pin.change`, …) carrying the PIN, as the wallet signs it. */
  action(action: DeviceActionName, params: Record<string, unknown>, pin: string): Promise<string>;
}

export interface TestNode {
  readonly node: ProcessorNode;
  readonly dir: string;
  /** Milliseconds added to the real clock. */
  advance(ms: number): void;
  call<T = unknown>(
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T; text: string }>;
  customer(balance: bigint, pin?: string, currency?: string, name?: string): Promise<TestCustomer>;
  merchant(name: string, currency?: string): Promise<{ apiKey: string; merchantId: string }>;
  request(
    apiKey: string,
    body: Record<string, unknown>,
  ): Promise<{ id: string; shortCode: string; status: string }>;
  requestStatus(apiKey: string, id: string): Promise<string>;
  balance(customerId: string): Promise<bigint>;
  sms(from: string, text: string, id?: string): Promise<string>;
  ussd(sessionId: string, phone: string, text: string): Promise<string>;
  /** The reply to a text with the stable code of the failure it reports, if any. */
  smsAnswer(from: string, text: string, id?: string): Promise<{ text: string; code?: string }>;
  /** A USSD screen with the stable code of the failure it reports (`X-Semops-Code`), if any. */
  ussdAnswer(sessionId: string, phone: string, text: string): Promise<{ text: string; code?: string }>;
  gatewayToken: string;
  close(): Promise<void>;
}

let phoneSeq = 0;

export async function startTestNode(opts: { fx?: FxOptions } = {}): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), 'semops-channels-'));
  let offset = 0;
  const node = await createProcessor({
    id: 'mno-b',
    name: 'Mobile B',
    kind: 'mno',
    currencies: ['EUR'],
    routingPrefix: '202',
    country: 'AT',
    dataDir: dir,
    // No hub: payments to this node's own merchants never leave it.
    hubUrl: 'http://127.0.0.1:9',
    reconcileIntervalMs: 60_000,
    // Logs go to <dir>/logs, so that tests can check that no PIN ever reaches them.
    logger: true,
    now: () => Date.now() + offset,
    ...(opts.fx ? { fx: opts.fx } : {}),
  });
  const gatewayToken = readFileSync(join(dir, 'secrets', 'sms-gateway-token.secret'), 'utf8').trim();
  const admin = node.adminToken;

  const t: TestNode = {
    node,
    dir,
    gatewayToken,
    advance(ms) {
      offset += ms;
    },
    async call(method, url, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      const res = await node.app.inject({
        method,
        url,
        headers,
        ...(opts.body === undefined
          ? {}
          : typeof opts.body === 'string'
            ? { payload: opts.body }
            : { payload: opts.body as Record<string, unknown> }),
      });
      let body: unknown = undefined;
      try {
        body = JSON.parse(res.body);
      } catch {
        body = undefined;
      }
      return { status: res.statusCode, body: body as never, text: res.body };
    },
    async customer(balance, pin = '1234', currency = 'EUR', name = 'Test Customer') {
      const phone = `+43660${String(process.pid % 1000).padStart(3, '0')}${String(phoneSeq++).padStart(4, '0')}`;
      const c = await t.call<{ customerId: string; activationCode: string }>('POST', '/v1/admin/customers', {
        token: admin,
        body: { phone, name, currency },
      });
      if (balance > 0n) {
        await t.call('POST', `/v1/admin/customers/${c.body.customerId}/deposits`, {
          token: admin,
          body: { amount: balance.toString() },
        });
      }
      const info = await t.call<{ encryptionKey: JWK }>('GET', '/v1/info');
      const keys = await generateSigningKeys();
      const enrolled = await t.call<{ deviceId: string; accessToken: string }>('POST', '/v1/wallet/enrol', {
        body: {
          phone,
          activationCode: c.body.activationCode,
          devicePublicKey: publicPart(keys.publicJwk),
          pin: await encryptJson({ pin }, await importEncryptionKey(info.body.encryptionKey)),
        },
      });
      if (enrolled.status !== 201) throw new Error(`enrol failed: ${enrolled.text}`);
      const { deviceId, accessToken } = enrolled.body;
      const deviceKey = await importSigningKey(keys.privateJwk);
      const processorKey = await importEncryptionKey(info.body.encryptionKey);
      return {
        id: c.body.customerId,
        phone,
        token: accessToken,
        deviceId,
        async approval(r, amount, typedPin, quoteId) {
          const payload = {
            deviceId,
            requestId: r.requestId,
            payee: r.processorId,
            amount,
            nonce: randomToken(16),
            expiresAt: Date.now() + offset + 60_000,
            pin: await encryptJson({ pin: typedPin }, processorKey),
            ...(quoteId ? { quoteId } : {}),
          };
          return signJson(payload, deviceKey, deviceId, APPROVAL_TYP);
        },
        async action(action, params, typedPin) {
          const payload = {
            deviceId,
            action,
            nonce: randomToken(16),
            expiresAt: Date.now() + offset + 60_000,
            pin: await encryptJson({ pin: typedPin }, processorKey),
            params,
          };
          return signJson(payload, deviceKey, deviceId, ACTION_TYP);
        },
      };
    },
    async merchant(name, currency = 'EUR') {
      const m = await t.call<{ apiKey: string; merchantId: string }>('POST', '/v1/admin/merchants', {
        token: admin,
        body: { name, city: 'Wien', category: '5812', currency },
      });
      return { apiKey: m.body.apiKey, merchantId: m.body.merchantId };
    },
    async request(apiKey, body) {
      const r = await t.call<{ id: string; shortCode: string; status: string }>('POST', '/v1/requests', {
        token: apiKey,
        body: { currency: 'EUR', reference: 'order-1', ...body },
      });
      if (r.status !== 201) throw new Error(`request failed: ${r.text}`);
      return r.body;
    },
    async requestStatus(apiKey, id) {
      return (await t.call<{ status: string }>('GET', `/v1/requests/${id}`, { token: apiKey })).body.status;
    },
    async balance(customerId) {
      const r = await t.call<{ balance: string }>('GET', `/v1/admin/customers/${customerId}`, {
        token: admin,
      });
      return BigInt(r.body.balance);
    },
    async sms(from, text, id) {
      return (await t.smsAnswer(from, text, id)).text;
    },
    async ussd(sessionId, phone, text) {
      return (await t.ussdAnswer(sessionId, phone, text)).text;
    },
    async smsAnswer(from, text, id) {
      const r = await t.call<{ replies: string[]; code?: string }>('POST', '/v1/channels/sms/inbound', {
        headers: { 'x-gateway-token': gatewayToken },
        body: { from, to: '22555', text, ...(id ? { id } : {}) },
      });
      if (r.status !== 200) throw new Error(`sms webhook: ${r.status} ${r.text}`);
      return { text: r.body.replies[0] ?? '', ...(r.body.code ? { code: r.body.code } : {}) };
    },
    async ussdAnswer(sessionId, phone, text) {
      const res = await node.app.inject({
        method: 'POST',
        url: '/v1/channels/ussd',
        headers: { 'x-gateway-token': gatewayToken },
        payload: { sessionId, serviceCode: '*384#', phoneNumber: phone, text },
      });
      if (res.statusCode !== 200) throw new Error(`ussd: ${res.statusCode} ${res.body}`);
      const code = res.headers['x-semops-code'];
      return { text: res.body, ...(typeof code === 'string' ? { code } : {}) };
    },
    async close() {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
