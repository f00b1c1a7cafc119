/**
 * What a customer is told about their money: a payment received or sent, a request to pay, a refund. Kept
 * per customer for the wallet (`GET /v1/wallet/notifications`); texts never name the other party beyond the
 * short name their processor shared.
 */
import type { Sql } from '@semops/node';
import { formatMoney, newId, type MoneyWire } from '@semops/protocol';

export type NotificationKind = 'payment.received' | 'payment.sent' | 'request.received' | 'refund.received';

interface NotificationRow {
  id: string;
  kind: NotificationKind;
  text: string;
  amount: string | null;
  currency: string | null;
  created_at: number | string;
}

export function createNotificationService(deps: { q: Sql; now: () => number }) {
  const { q, now } = deps;
  return {
    /**
     * Records a notification; idempotent by `id` when the caller gives one (e.g. per transfer). In the caller's
     * transaction `tx` when given, so that it is written with the change it tells of.
     */
    async record(
      customerId: string,
      kind: NotificationKind,
      text: string,
      amount?: MoneyWire,
      id: string = newId('ntf'),
      tx: Sql = q,
    ): Promise<void> {
      await tx.run`INSERT INTO notifications (id, customer_id, kind, text, amount, currency, created_at)
        VALUES (${id}, ${customerId}, ${kind}, ${text}, ${amount?.value ?? null}, ${amount?.currency ?? null}, ${now()})
        ON CONFLICT (id) DO NOTHING`;
    },

    async list(customerId: string, limit = 50) {
      const rows = await q.all<NotificationRow>`SELECT id, kind, text, amount, currency, created_at
        FROM notifications WHERE customer_id = ${customerId} ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
      return rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        text: r.text,
        ...(r.amount !== null && r.currency !== null
          ? { amount: { value: r.amount, currency: r.currency } }
          : {}),
        createdAt: Number(r.created_at),
      }));
    },
  };
}

/** A money amount for a notification text, e.g. `12.50 EUR`. */
export function moneyText(m: MoneyWire): string {
  return formatMoney({ value: BigInt(m.value), currency: m.currency });
}

export type NotificationService = ReturnType<typeof createNotificationService>;
