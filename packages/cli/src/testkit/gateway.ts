/**
 * The operator's SMS and USSD gateway as a scenario drives it: the processor's webhooks, authenticated with
 * the gateway secret from the processor's data directory, and the operator's list of stored texts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call } from '../http.js';
import type { Ctx } from './harness.js';
import { check } from './scenario.js';

export interface StoredText {
  readonly direction: string;
  readonly text: string;
}

export function operatorGateway(ctx: Ctx, processorId: string) {
  const p = ctx.processor(processorId);
  const token = readFileSync(join(p.dataDir, 'secrets', 'sms-gateway-token.secret'), 'utf8').trim();
  const headers = { 'x-gateway-token': token };
  return {
    async sms(from: string, text: string): Promise<string> {
      const r = await call<{ replies?: string[] }>('POST', `${p.url}/v1/channels/sms/inbound`, {
        headers,
        body: { from, to: '22555', text },
      });
      check(r.status === 200, `SMS webhook answered ${r.status}`);
      return r.body.replies?.[0] ?? '';
    },
    async ussd(sessionId: string, phoneNumber: string, text: string): Promise<string> {
      const r = await call<string>('POST', `${p.url}/v1/channels/ussd`, {
        headers,
        body: { sessionId, serviceCode: '*384#', phoneNumber, text },
      });
      check(r.status === 200 && typeof r.body === 'string', `USSD webhook answered ${r.status}`);
      return r.body;
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
}
