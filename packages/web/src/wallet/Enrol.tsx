/**
 * First start on a phone: enrol it with the phone number, the activation code and the PIN — a new one for a new
 * customer, the current one for a customer who already has a PIN (another phone, SMS or USSD).
 */
import { useState, type FormEvent } from 'react';
import { messageOf } from '../shared/api';
import { Notice } from '../shared/ui';
import { enrolDevice } from './device';
import { saveDevice, type StoredDevice } from './store';

export function Enrol(props: { processorName?: string | undefined; onEnrolled: (d: StoredDevice) => void }) {
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const [pin, setPin] = useState('');
  const [pin2, setPin2] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    const phoneNorm = phone.replace(/[\s()-]/g, '');
    if (!/^\+[1-9]\d{6,14}$/.test(phoneNorm)) {
      setError('Enter your phone number with the country code, for example +43 664 1000001.');
      return;
    }
    if (!/^\d{8}$/.test(code.replace(/\s/g, ''))) {
      setError('The activation code has 8 digits.');
      return;
    }
    if (!/^\d{4,6}$/.test(pin)) {
      setError('Choose a PIN of 4 to 6 digits.');
      return;
    }
    if (pin !== pin2) {
      setError('The two PINs differ. Type the same PIN twice.');
      return;
    }
    setBusy(true);
    try {
      const device = await enrolDevice({ phone: phoneNorm, activationCode: code.replace(/\s/g, ''), pin });
      await saveDevice(device);
      props.onEnrolled(device);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  }

  return (
    <main className="content">
      <section className="card">
        <h2>Set up this phone</h2>
        <p className="muted">
          Use the activation code {props.processorName ?? 'your bank or mobile operator'} gave you. This phone
          makes its own key; from then on, payments need this phone and your PIN. New customers choose a PIN
          here; if you already have one (another phone, SMS or USSD), type that PIN.
        </p>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <label className="field">
            <span>Phone number</span>
            <input
              name="phone"
              type="tel"
              inputMode="tel"
              autoComplete="tel"
              placeholder="+43 664 1000001"
              value={phone}
              onChange={(e) => setPhone(e.target.value)}
              required
            />
          </label>
          <label className="field">
            <span>Activation code</span>
            <input
              name="activationCode"
              inputMode="numeric"
              autoComplete="one-time-code"
              placeholder="8 digits"
              maxLength={9}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              required
            />
          </label>
          <div className="field-row">
            <label className="field">
              <span>PIN</span>
              <input
                name="pin"
                type="password"
                inputMode="numeric"
                autoComplete="new-password"
                placeholder="4–6 digits"
                maxLength={6}
                value={pin}
                onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
                required
              />
            </label>
            <label className="field">
              <span>PIN again</span>
              <input
                name="pin2"
                type="password"
                inputMode="numeric"
                autoComplete="new-password"
                placeholder="repeat"
                maxLength={6}
                value={pin2}
                onChange={(e) => setPin2(e.target.value.replace(/\D/g, ''))}
                required
              />
            </label>
          </div>
          {error ? <Notice kind="error">{error}</Notice> : null}
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Setting up…' : 'Set up this phone'}
          </button>
        </form>
      </section>
      <p className="fineprint">
        Your PIN is encrypted on this phone for your processor only. The private key never leaves this
        browser.
      </p>
    </main>
  );
}
