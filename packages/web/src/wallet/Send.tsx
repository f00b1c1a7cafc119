/**
 * Sending money to a person: a phone number or name@processor, resolved by the customer's processor into
 * the recipient's short name (`Ben O.`); the customer enters the amount, approves with the PIN and gets the receipt.
 */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { Notice, TextField } from '../shared/ui';
import type { Resolved, WalletApi } from './api';
import { Approve } from './Approve';
import { readPerson, unavailable } from './people';
import type { StoredDevice } from './store';

export function Send(props: {
  device: StoredDevice;
  wallet: WalletApi;
  onClose: () => void;
  onDeviceGone: (e: ApiError) => void;
}) {
  const { wallet, onDeviceGone } = props;
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [request, setRequest] = useState<Resolved>();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    const who = readPerson(to);
    if ('error' in who) {
      setError(who.error);
      return;
    }
    setBusy(true);
    try {
      setRequest(await wallet.p2pResolve(who.value));
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'DEVICE_BLOCKED' || err.code === 'UNAUTHORIZED'))
        onDeviceGone(err);
      else setError(unavailable(err, 'Sending money'));
    } finally {
      setBusy(false);
    }
  }

  if (request) {
    return (
      <Approve
        device={props.device}
        wallet={wallet}
        request={request}
        onCancel={() => setRequest(undefined)}
        onDone={props.onClose}
        onFinal={(message) => {
          setRequest(undefined);
          setError(message);
        }}
        onDeviceGone={onDeviceGone}
      />
    );
  }

  return (
    <main className="content">
      <section className="card" aria-labelledby="send-title">
        <h2 id="send-title">Send money</h2>
        <p className="muted">
          To anyone with a SEMOPS wallet, at any bank or mobile operator. You see their name before you
          approve.
        </p>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <TextField party label="Phone number or name@processor" name="to" value={to} onChange={setTo} />
          {error ? (
            <Notice kind="error" testId="send-error">
              {error}
            </Notice>
          ) : null}
          <button type="submit" className="button primary big" disabled={busy}>
            {busy ? 'Looking up…' : 'Continue'}
          </button>
        </form>
      </section>
    </main>
  );
}
