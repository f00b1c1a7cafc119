/**
 * Refunding one of today's payments: in full by default, or a partial amount; shows each refund's result and
 * how much of the payment has been paid back.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { MoneyWire } from '@semops/protocol';
import { ApiError, messageOf } from '../shared/api';
import { readAmount, showMoney } from '../shared/money';
import { Notice, Spinner } from '../shared/ui';
import type { IncomingPayment, MerchantApi, Refund } from './api';

/** What has been paid back: completed refunds, plus pending ones (they are reserved). */
export function refundedTotal(refunds: readonly Refund[], currency: string): MoneyWire {
  let sum = 0n;
  for (const r of refunds) if (r.status !== 'FAILED') sum += BigInt(r.amount.value);
  return { value: sum.toString(), currency };
}

function errorText(e: Refund['error']): string {
  if (!e) return 'rejected';
  return typeof e === 'string' ? e : e.message || e.code;
}

/** Messages a merchant can act on, for the refund errors the processor names. */
function refundError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'REFUND_EXCEEDS_PAYMENT')
      return `That is more than is left to refund. ${e.message === e.code ? '' : e.message}`.trim();
    if (e.code === 'NOT_FOUND') return 'Refunds are not available at this processor yet.';
  }
  return messageOf(e);
}

export function RefundPanel(props: {
  merchant: MerchantApi;
  payment: IncomingPayment;
  onRefunds: (paymentId: string, refunds: Refund[]) => void;
  onClose: () => void;
}) {
  const { merchant, payment: p, onRefunds } = props;
  const [refunds, setRefunds] = useState<Refund[]>();
  const [amount, setAmount] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [result, setResult] = useState<Refund>();
  // Kept while the same refund is retried after a lost answer; a new one after any definite answer.
  const [attempt, setAttempt] = useState<{ key: string; amount: string }>();

  useEffect(() => {
    let live = true;
    merchant.refunds(p.paymentId).then(
      (r) => {
        if (!live) return;
        setRefunds(r.refunds);
        onRefunds(p.paymentId, r.refunds);
      },
      (e: unknown) => {
        if (!live) return;
        setRefunds([]);
        setError(refundError(e));
      },
    );
    return () => {
      live = false;
    };
  }, [merchant, p.paymentId, onRefunds]);

  const refunded = refundedTotal(refunds ?? [], p.amount.currency);
  const left: MoneyWire = {
    value: (BigInt(p.amount.value) - BigInt(refunded.value)).toString(),
    currency: p.amount.currency,
  };
  const nothingLeft = BigInt(left.value) <= 0n;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    setResult(undefined);
    let money: MoneyWire | undefined;
    if (amount.trim()) {
      const read = readAmount(amount, p.amount.currency);
      if (typeof read === 'string') {
        setError(read);
        return;
      }
      if (BigInt(read.value) > BigInt(left.value)) {
        setError(`At most ${showMoney(left)} is left to refund.`);
        return;
      }
      money = read;
    }
    const key =
      attempt && attempt.amount === amount.trim() ? attempt.key : `pos-refund-${crypto.randomUUID()}`;
    setAttempt({ key, amount: amount.trim() });
    setBusy(true);
    try {
      const r = await merchant.refund(p.paymentId, key, money);
      setAttempt(undefined);
      setAmount('');
      // The list as the processor keeps it, with this refund in it even if the list lags behind.
      const fetched = (await merchant.refunds(p.paymentId).catch(() => undefined))?.refunds ?? refunds ?? [];
      const list = fetched.some((x) => x.refundId === r.refundId) ? fetched : [...fetched, r];
      setRefunds(list);
      setResult(r);
      onRefunds(p.paymentId, list);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'NETWORK')) setAttempt(undefined);
      setError(refundError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="refund-panel" data-testid="refund-panel">
      {refunds === undefined ? (
        <Spinner label="Loading refunds…" />
      ) : (
        <p className="refund-summary" data-testid="refund-summary">
          Refunded {showMoney(refunded)} of {showMoney(p.amount)}
          {refunds.length > 0 ? ` in ${refunds.length} refund${refunds.length === 1 ? '' : 's'}` : ''}
        </p>
      )}
      {result ? (
        <Notice
          kind={result.status === 'FAILED' ? 'error' : result.status === 'PENDING' ? 'info' : 'success'}
          testId="refund-result"
        >
          {result.status === 'COMPLETED'
            ? `Refunded ${showMoney(result.amount)} to the customer.`
            : result.status === 'PENDING'
              ? `Refund of ${showMoney(result.amount)} is on its way to the customer’s processor.`
              : `The refund of ${showMoney(result.amount)} did not go through (${errorText(result.error)}). No money left your account.`}
        </Notice>
      ) : null}
      {error ? (
        <Notice kind="error" testId="refund-error">
          {error}
        </Notice>
      ) : null}
      {nothingLeft ? (
        <p className="muted">This payment has been refunded in full.</p>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <label className="field">
            <span>Refund amount ({p.amount.currency})</span>
            <input
              name="refundAmount"
              className="amount-input"
              inputMode="decimal"
              autoComplete="off"
              placeholder={`All: ${showMoney(left)}`}
              value={amount}
              onChange={(e) => setAmount(e.target.value)}
            />
          </label>
          <p className="hint">Leave empty to refund everything left ({showMoney(left)}).</p>
          <button type="submit" className="button danger" disabled={busy || refunds === undefined}>
            {busy ? 'Refunding…' : amount.trim() ? 'Refund this amount' : `Refund ${showMoney(left)}`}
          </button>
        </form>
      )}
      <button type="button" className="button link" onClick={props.onClose}>
        Close
      </button>
    </div>
  );
}
