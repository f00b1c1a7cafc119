/**
 * The operator's SMS and USSD gateway as a scenario drives it: the processor's webhooks, authenticated with
 * the gateway secret from the processor's data directory, and the operator's list of stored texts. A reply
 * comes with the stable code of the failure it reports, if any (`smsAnswer`, `ussdAnswer`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, callWithHeaders } from '../http.js';
import type { Ctx } from './harness.js';
import { check } from './scenario.js';

export interface StoredText {
  readonly direction: string;
  readonly text: string;
}

/** What a phone is answered, and the stable error code of the failure it reports, if any. */
export interface GatewayAnswer {
  readonly text: string;
  readonly code?: string;
}

export function operatorGateway(ctx: Ctx, processorId: string) {
  const p = ctx.processor(processorId);
  const token = readFileSync(join(p.dataDir, 'secrets', 'sms-gateway-token.secret'), 'utf8').trim();
  const headers = { 'x-gateway-token': token };
  const gw = {
    async sms(from: string, text: string): Promise<string> {
      return (await gw.smsAnswer(from, text)).text;
    },
    async ussd(sessionId: string, phoneNumber: string, text: string): Promise<string> {
      return (await gw.ussdAnswer(sessionId, phoneNumber, text)).text;
    },
    async smsAnswer(from: string, text: string): Promise<GatewayAnswer> {
      const r = await call<{ replies?: string[]; code?: string }>(
        'POST',
        `${p.url}/v1/channels/sms/inbound`,
        {
          headers,
          body: { from, to: '22555', text },
        },
      );
      check(r.status === 200, `SMS webhook answered ${r.status}`);
      return { text: r.body.replies?.[0] ?? '', ...(r.body.code ? { code: r.body.code } : {}) };
    },
    async ussdAnswer(sessionId: string, phoneNumber: string, text: string): Promise<GatewayAnswer> {
      const r = await callWithHeaders<string>('POST', `${p.url}/v1/channels/ussd`, {
        headers,
        body: { sessionId, serviceCode: '*384#', phoneNumber, text },
      });
      check(r.status === 200 && typeof r.body === 'string', `USSD webhook answered ${r.status}`);
      const code = r.headers['x-semops-code'];
      return { text: r.body, ...(typeof code === 'string' ? { code } : {}) };
    },
    async texts(phone: string): Promise<StoredText[]> {
      const r = await call<{ messages: StoredText[] }>(
        'GET',
        `${p.url}/v1/admin/sms?phone=${encodeURIComponent(phone)}&limit=500`,
        { token: p.adminToken },
      );
      return r.body.messages;
    },
  };
  return gw;
}
