/**
 * SMS texts kept in the node's database (`sms_messages`), and the default SMS gateway adapter built on them:
 * it "sends" by storing, so that the demo pages, the CLI and the operator endpoint show what a phone would
 * receive. A PIN never reaches this table: the SMS service stores an inbound PIN reply as `****`.
 */
import type { Sql } from '@semops/node';
import { parseInboundSms, type SmsGateway } from '../gateway.js';

export type SmsDirection = 'in' | 'out';

export interface StoredSms {
  readonly id: number;
  readonly direction: SmsDirection;
  /** The customer's phone: the sender of an inbound text, the recipient of an outbound one. */
  readonly phone: string;
  /** Our side: the short code written to, or the sender id of our texts. */
  readonly service: string;
  readonly text: string;
  readonly createdAt: number;
}

interface Row {
  id: number;
  direction: SmsDirection;
  phone: string;
  service: string;
  text: string;
  created_at: number;
}

export function createSmsStore(q: Sql, now: () => number) {
  return {
    /** Stores a text; returns its id, or undefined when the gateway already delivered this message id. */
    async record(m: {
      direction: SmsDirection;
      phone: string;
      service: string;
      text: string;
      gatewayId?: string;
    }): Promise<number | undefined> {
      const r = await q.one<{
        id: number;
      }>`INSERT INTO sms_messages (direction, phone, service, text, gateway_id, created_at)
        VALUES (${m.direction}, ${m.phone}, ${m.service}, ${m.text}, ${m.gatewayId ?? null}, ${now()})
        ON CONFLICT (gateway_id) DO NOTHING RETURNING id`;
      return r ? Number(r.id) : undefined;
    },

    /** Texts newest first, optionally of one phone and one direction, before the id `before`. */
    async list(f: {
      phone?: string;
      direction?: SmsDirection;
      before?: number;
      limit: number;
    }): Promise<StoredSms[]> {
      const phone = f.phone ?? null;
      const direction = f.direction ?? null;
      const before = f.before ?? null;
      const rows = await q.all<Row>`SELECT id, direction, phone, service, text, created_at FROM sms_messages
        WHERE (CAST(${phone} AS TEXT) IS NULL OR phone = ${phone}) AND (CAST(${direction} AS TEXT) IS NULL OR direction = ${direction})
          AND (CAST(${before} AS BIGINT) IS NULL OR id < ${before})
        ORDER BY id DESC LIMIT ${f.limit}`;
      return rows.map((r) => ({
        id: Number(r.id),
        direction: r.direction,
        phone: r.phone,
        service: r.service,
        text: r.text,
        createdAt: r.created_at,
      }));
    },
  };
}

export type SmsStore = ReturnType<typeof createSmsStore>;

/**
 * The default gateway adapter: outbound texts are stored (direction `out`, from `sender`), inbound webhooks
 * are read in the common formats of {@link parseInboundSms}.
 * @example const gateway = createStoredSmsGateway(store, 'SEMOPS'); await gateway.send('+43660123456', 'Hi');
 */
export function createStoredSmsGateway(store: SmsStore, sender: string): SmsGateway {
  return {
    async send(to, text) {
      await store.record({ direction: 'out', phone: to, service: sender, text });
    },
    parseInbound: parseInboundSms,
  };
}
