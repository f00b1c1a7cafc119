/** This phone's enrolment, and blocking it (a phone about to be lost, sold or handed over). */
import { useState } from 'react';
import { ApiError, messageOf } from '../shared/api';
import { Notice } from '../shared/ui';
import type { WalletApi } from './api';
import { forgetDevice, type StoredDevice } from './store';

export function DeviceView(props: { device: StoredDevice; wallet: WalletApi; onBlocked: () => void }) {
  const d = props.device;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function block() {
    setBusy(true);
    setError(undefined);
    try {
      await props.wallet.block();
    } catch (e) {
      // Already blocked (an earlier answer was lost): the processor refuses this device either way.
      if (!(e instanceof ApiError && e.code === 'DEVICE_BLOCKED')) {
        setError(messageOf(e));
        setBusy(false);
        return;
      }
    }
    await forgetDevice();
    props.onBlocked();
  }

  return (
    <main className="content">
      <section className="card">
        <h2>This phone</h2>
        <dl className="facts">
          <div>
            <dt>Customer</dt>
            <dd>{d.customer.name}</dd>
          </div>
          <div>
            <dt>Phone</dt>
            <dd>{d.phone}</dd>
          </div>
          <div>
            <dt>Processor</dt>
            <dd>{d.processor.name}</dd>
          </div>
          <div>
            <dt>Device</dt>
            <dd className="mono">{d.deviceId}</dd>
          </div>
          <div>
            <dt>Set up</dt>
            <dd>{new Date(d.enrolledAt).toLocaleString()}</dd>
          </div>
        </dl>
      </section>
      <section className="card danger-zone" aria-labelledby="block-title">
        <h2 id="block-title">Block this phone</h2>
        <p className="muted">
          Blocking stops your account at once on every channel (this phone, other phones, SMS and USSD): no
          payment can be approved any more. Your money stays in your account; your processor unblocks it once
          they have checked it is you, and gives you a new activation code for your new phone.
        </p>
        {error ? <Notice kind="error">{error}</Notice> : null}
        {confirming ? (
          <div className="confirm-row">
            <button type="button" className="button danger" disabled={busy} onClick={() => void block()}>
              {busy ? 'Blocking…' : 'Yes, block it now'}
            </button>
            <button
              type="button"
              className="button secondary"
              disabled={busy}
              onClick={() => setConfirming(false)}
            >
              Keep it
            </button>
          </div>
        ) : (
          <button type="button" className="button danger" onClick={() => setConfirming(true)}>
            Block this phone
          </button>
        )}
      </section>
    </main>
  );
}
