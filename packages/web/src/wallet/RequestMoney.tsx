/** Asking a person for money: who, how much and why; the request lands in their wallet's inbox. */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { readAmount, showMoney, type MoneyWire } from '../shared/money';
import { AmountField, Notice, TextField } from '../shared/ui';
import type { WalletApi } from './api';
import { readPerson, unavailable } from './people';

export function RequestMoney(props: {
  wallet: WalletApi;
  currency: string;
  onClose: () => void;
  onDeviceGone: (e: ApiError) => void;
}) {
  const { wallet, onDeviceGone } = props;
  const [from, setFrom] = useState('');
  const [amount, setAmount] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [sent, setSent] = useState<{ to: string; amount: MoneyWire }>();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    const who = readPerson(from);
    if ('error' in who) {
      setError(who.error);
      return;
    }
    const money = readAmount(amount, props.currency);
    if (typeof money === 'string') {
      setError(money);
      return;
    }
    setBusy(true);
    try {
      await wallet.requestMoney({
        from: who.value,
        amount: money,
        ...(note.trim() ? { note: note.trim() } : {}),
      });
      setSent({ to: who.value, amount: money });
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'DEVICE_BLOCKED' || err.code === 'UNAUTHORIZED'))
        onDeviceGone(err);
      else setError(unavailable(err, 'Requesting money'));
    } finally {
      setBusy(false);
    }
  }

  if (sent) {
    return (
      <main className="content">
        <section className="card receipt" aria-labelledby="sent-title" data-testid="request-sent">
          <div className="receipt-check" aria-hidden="true">
            ✓
          </div>
          <h2 id="sent-title">Request sent</h2>
          <p className="receipt-amount">{showMoney(sent.amount)}</p>
          <p className="receipt-merchant">
            asked from <strong>{sent.to}</strong>
          </p>
          <p className="muted">
            It is in their wallet’s inbox. You will see the money and a notification when they pay.
          </p>
          <button type="button" className="button primary" onClick={props.onClose}>
            Done
          </button>
        </section>
      </main>
    );
  }

  return (
    <main className="content">
      <section className="card" aria-labelledby="request-title">
        <h2 id="request-title">Request money</h2>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <TextField
            label="From (phone number or name@processor)"
            name="from"
            value={from}
            onChange={setFrom}
          />
          <AmountField hint={props.currency} value={amount} onChange={setAmount} />
          <TextField
            label="Note (optional)"
            name="note"
            placeholder="Dinner on Friday"
            value={note}
            onChange={setNote}
          />
          {error ? (
            <Notice kind="error" testId="request-error">
              {error}
            </Notice>
          ) : null}
          <button type="submit" className="button primary big" disabled={busy}>
            {busy ? 'Sending…' : 'Send request'}
          </button>
        </form>
      </section>
    </main>
  );
}
