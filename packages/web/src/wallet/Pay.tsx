/**
 * Paying: get the code (camera, NFC, paste or link), let the customer's processor resolve and check it, show
 * merchant, amount, fee and expiry, approve with the PIN pad, and show the receipt.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, messageOf } from '../shared/api';
import { Notice, Spinner } from '../shared/ui';
import type { Resolved, WalletApi } from './api';
import { Approve } from './Approve';
import { nfcAvailable, readNfcLink } from './nfc';
import { QrScanner } from './scanner';
import type { StoredDevice } from './store';

export type CaptureMode = 'paste' | 'scan' | 'nfc';

type Step = { kind: 'input' } | { kind: 'resolving' } | { kind: 'confirm'; request: Resolved };

export function Pay(props: {
  device: StoredDevice;
  wallet: WalletApi;
  mode: CaptureMode;
  initialCode?: string | undefined;
  onClose: () => void;
  onDeviceGone: (e: ApiError) => void;
}) {
  const { wallet, device, onDeviceGone } = props;
  const [mode, setMode] = useState<CaptureMode>(props.mode);
  const [code, setCode] = useState(props.initialCode ?? '');
  const [step, setStep] = useState<Step>({ kind: 'input' });
  const [error, setError] = useState<string>();
  const autoResolved = useRef(false);

  function fail(e: unknown) {
    if (e instanceof ApiError && (e.code === 'DEVICE_BLOCKED' || e.code === 'UNAUTHORIZED')) {
      onDeviceGone(e);
      return;
    }
    setError(messageOf(e));
  }

  async function resolve(text: string) {
    const value = text.trim();
    setError(undefined);
    if (!value) {
      setError('Paste or type the payment code first.');
      return;
    }
    setStep({ kind: 'resolving' });
    try {
      const request = await wallet.resolve(value);
      setStep({ kind: 'confirm', request });
    } catch (e) {
      setStep({ kind: 'input' });
      setMode('paste');
      setCode(value);
      fail(e);
    }
  }

  // A link that opened the wallet (?code=…) is checked at once; paying still needs the PIN.
  useEffect(() => {
    if (props.initialCode && !autoResolved.current) {
      autoResolved.current = true;
      void resolve(props.initialCode);
    }
  }, []);

  useEffect(() => {
    if (mode !== 'nfc' || step.kind !== 'input') return;
    const abort = new AbortController();
    readNfcLink(abort.signal).then(
      (link) => {
        setCode(link);
        void resolve(link);
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        setMode('paste');
        setError(
          e instanceof DOMException && e.name === 'NotAllowedError'
            ? 'NFC access was refused.'
            : messageOf(e),
        );
      },
    );
    return () => abort.abort();
  }, [mode, step.kind]);

  if (step.kind === 'confirm') {
    return (
      <Approve
        device={device}
        wallet={wallet}
        request={step.request}
        onCancel={props.onClose}
        onDone={props.onClose}
        onFinal={(message) => {
          setStep({ kind: 'input' });
          setMode('paste');
          setError(message);
        }}
        onDeviceGone={onDeviceGone}
      />
    );
  }

  const resolving = step.kind === 'resolving';
  return (
    <main className="content">
      {mode === 'scan' && !resolving ? (
        <QrScanner
          onCode={(c) => {
            setCode(c);
            void resolve(c);
          }}
          onClose={() => setMode('paste')}
        />
      ) : null}
      {mode === 'nfc' && !resolving ? (
        <section className="card">
          <Spinner label="Hold your phone near the merchant’s NFC tag…" />
          <button type="button" className="button secondary" onClick={() => setMode('paste')}>
            Stop NFC
          </button>
        </section>
      ) : null}
      <section className="card">
        <h2>Payment code</h2>
        <form
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void resolve(code);
          }}
        >
          <label className="field">
            <span>Short code, QR text or payment link</span>
            <textarea
              name="code"
              rows={3}
              spellCheck={false}
              autoCapitalize="off"
              autoCorrect="off"
              placeholder="e.g. 2020000427 or semops://pay?…"
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </label>
          {error ? (
            <Notice kind="error" testId="pay-error">
              {error}
            </Notice>
          ) : null}
          <button type="submit" className="button primary" disabled={resolving}>
            {resolving ? 'Checking…' : 'Continue'}
          </button>
        </form>
        <div className="pay-row">
          {mode !== 'scan' ? (
            <button type="button" className="button secondary" onClick={() => setMode('scan')}>
              Use camera
            </button>
          ) : null}
          {nfcAvailable() && mode !== 'nfc' ? (
            <button type="button" className="button secondary" onClick={() => setMode('nfc')}>
              Tap NFC
            </button>
          ) : null}
        </div>
      </section>
    </main>
  );
}
