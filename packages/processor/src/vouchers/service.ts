/**
 * Top-up vouchers for prepaid (e-money) accounts: the operator creates a batch of codes of one amount (only
 * their SHA-256 is stored); a customer redeems a code once, which moves the amount funding → customer.
 */
import { randomInt } from 'node:crypto';
import type { Ledger } from '@semops/ledger';
import { sha256, type Sql } from '@semops/node';
import { SemopsError, randomToken } from '@semops/protocol';
import type { CustomerService } from '../customers/service.js';
import type { LimitService } from '../limits/service.js';
import { moneyText, type NotificationService } from '../notifications/service.js';

/** A voucher code: 16 digits, shown in groups of four. */
export const VOUCHER_RE = /^\d{16}$/;

/** The code without spaces or dashes. */
export const normaliseVoucher = (code: string) => code.replace(/[\s-]/g, '');

export function createVoucherService(deps: {
  q: Sql;
  ledger: Ledger;
  customers: CustomerService;
  limits: LimitService;
  notifications: NotificationService;
  fundingAccount: (currency: string) => Promise<string>;
  now: () => number;
}) {
  const { q, ledger, now } = deps;
  return {
    /** Creates `count` codes worth `amount` each; the codes are returned once and never stored. */
    async create(input: { amount: bigint; currency: string; count: number }) {
      const batchId = `vch_${randomToken(16)}`;
      const codes: string[] = [];
      await q.tx(async (t) => {
        for (let i = 0; i < input.count; i++) {
          const code = Array.from({ length: 4 }, () => String(randomInt(0, 10_000)).padStart(4, '0')).join(
            '',
          );
          codes.push(code);
          await t.run`INSERT INTO vouchers (code_hash, batch_id, amount, currency, created_at)
            VALUES (${sha256(code)}, ${batchId}, ${input.amount.toString()}, ${input.currency}, ${now()})`;
        }
      });
      return { batchId, amount: input.amount, currency: input.currency, codes };
    },

    /**
     * Redeems a code for a customer: VOUCHER_INVALID for an unknown code or another currency, VOUCHER_USED
     * once used, LIMIT_EXCEEDED when the balance would exceed the tier's maximum (the code stays unused).
     */
    async redeem(customerId: string, rawCode: string) {
      const code = normaliseVoucher(rawCode);
      if (!VOUCHER_RE.test(code)) throw new SemopsError('VOUCHER_INVALID');
      const hash = sha256(code);
      const v = await q.one<{
        amount: string;
        currency: string;
        used_by: string | null;
      }>`SELECT amount, currency,
        used_by FROM vouchers WHERE code_hash = ${hash}`;
      if (!v) throw new SemopsError('VOUCHER_INVALID');
      const transferId = `topup:${hash.slice(0, 32)}`;
      // A code claimed by this customer whose transfer never happened (crash in between) is completed.
      const unfinished = v.used_by === customerId && !(await ledger.getTransfer(transferId));
      if (v.used_by !== null && !unfinished) throw new SemopsError('VOUCHER_USED');
      const c = await deps.customers.get(customerId);
      if (c.currency !== v.currency)
        throw new SemopsError('VOUCHER_INVALID', 'This voucher is for another currency.');
      const amount = BigInt(v.amount);
      const before = await deps.customers.balance(customerId);
      if (!unfinished) {
        await deps.limits.checkCredit(customerId, before.balance, amount);
        // Claim the code first: whoever marks it used first tops up.
        const claimed = await q.run`UPDATE vouchers SET used_by = ${customerId}, used_at = ${now()}
          WHERE code_hash = ${hash} AND used_by IS NULL`;
        if (claimed !== 1) throw new SemopsError('VOUCHER_USED');
      }
      await ledger.transfer({
        id: transferId,
        debitAccountId: await deps.fundingAccount(c.currency),
        creditAccountId: c.accountId,
        amount,
        currency: c.currency,
        code: 'topup',
      });
      const money = { value: v.amount, currency: v.currency };
      await deps.notifications.record(
        customerId,
        'payment.received',
        `Top-up of ${moneyText(money)} by voucher.`,
        money,
        `ntf_${transferId}`,
      );
      const b = await deps.customers.balance(customerId);
      return { topUp: money, balance: { value: b.balance.toString(), currency: b.currency } };
    },
  };
}

export type VoucherService = ReturnType<typeof createVoucherService>;
