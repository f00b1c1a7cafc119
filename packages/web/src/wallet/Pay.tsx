/**
 * Paying: get the code (camera, NFC, paste or link), let the customer's processor resolve and check it, show
 * merchant, amount, fee and expiry, approve with the PIN pad, and show the receipt.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { MoneyWire } from '@semops/protocol';
import { ApiError, messageOf } from '../shared/api';
import { countdown, readAmount, showMoney } from '../shared/money';
import { Notice, Spinner, useNow } from '../shared/ui';
import { categoryName, type Payment, type Resolved, type WalletApi } from './api';
import { signApproval } from './device';
import { nfcAvailable, readNfcLink } from './nfc';
import { PinPad } from './PinPad';
import { ReceiptView } from './Receipt';
import { QrScanner } from './scanner';
import type { StoredDevice } from './store';

export type CaptureMode = 'paste' | 'scan' | 'nfc';

type Step =
  | { kind: 'input' }
  | { kind: 'resolving' }
  | { kind: 'confirm'; request: Resolved }
  | { kind: 'pin'; request: Resolved; amount: MoneyWire }
  | { kind: 'waiting'; request: Resolved; paymentId: string }
  | { kind: 'done'; payment: Payment };

/** Errors after which the same request cannot be paid: go back to the code. */
const FINAL_CODES = new Set([
  'REQUEST_EXPIRED',
  'REQUEST_ALREADY_PAID',
  'REQUEST_CANCELLED',
  'REQUEST_NOT_FOUND',
  'PIN_LOCKED',
]);

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
  const [amountText, setAmountText] = useState('');
  const now = useNow(1000);
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
      setAmountText('');
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

  function startPin(request: Resolved) {
    setError(undefined);
    let amount: MoneyWire | undefined = request.amount;
    if (!amount) {
      const read = readAmount(amountText, request.currency);
      if (typeof read === 'string') {
        setError(read);
        return;
      }
      const v = BigInt(read.value);
      if (
        (request.minAmount && v < BigInt(request.minAmount.value)) ||
        (request.maxAmount && v > BigInt(request.maxAmount.value))
      ) {
        setError(`Enter an amount ${rangeText(request)}.`);
        return;
      }
      amount = read;
    }
    setStep({ kind: 'pin', request, amount });
  }

  async function approve(request: Resolved, amount: MoneyWire, pin: string) {
    setError(undefined);
    setStep({ kind: 'waiting', request, paymentId: '' });
    try {
      const approval = await signApproval(device, request, amount, pin);
      let payment = await wallet.pay(approval);
      const end = Date.now() + 30_000;
      while (payment.status === 'PENDING' && Date.now() < end) {
        setStep({ kind: 'waiting', request, paymentId: payment.paymentId });
        await new Promise((r) => setTimeout(r, 500));
        payment = await wallet.payment(payment.paymentId);
      }
      if (payment.status === 'COMPLETED') setStep({ kind: 'done', payment });
      else if (payment.status === 'PENDING') {
        setStep({ kind: 'confirm', request });
        setError('The payment is still being processed. It will show in your activity when it completes.');
      } else {
        setStep({ kind: 'confirm', request });
        setError(`The payment did not go through (${payment.error ?? 'rejected'}). No money was taken.`);
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === 'PIN_INVALID') {
        setStep({ kind: 'pin', request, amount });
      } else if (e instanceof ApiError && FINAL_CODES.has(e.code)) {
        setStep({ kind: 'input' });
        setMode('paste');
      } else {
        setStep({ kind: 'confirm', request });
      }
      fail(e);
    }
  }

  if (step.kind === 'done') return <ReceiptView payment={step.payment} onDone={props.onClose} />;

  if (step.kind === 'pin') {
    return (
      <main className="content">
        <section className="card summary-mini">
          <p>
            Pay <strong>{showMoney(step.amount)}</strong> to <strong>{step.request.merchant.name}</strong>
          </p>
        </section>
        {error ? (
          <Notice kind="error" testId="pay-error">
            {error}
          </Notice>
        ) : null}
        <PinPad
          title="Enter your PIN"
          onSubmit={(pin) => void approve(step.request, step.amount, pin)}
          onCancel={() => setStep({ kind: 'confirm', request: step.request })}
        />
      </main>
    );
  }

  if (step.kind === 'waiting') {
    return (
      <main className="content">
        <section className="card">
          <Spinner label={`Paying ${step.request.merchant.name}…`} />
          <p className="muted">Your processor is sending the payment to the merchant’s processor.</p>
        </section>
      </main>
    );
  }

  if (step.kind === 'confirm') {
    const r = step.request;
    const left = countdown(r.expiresAt, now);
    return (
      <main className="content">
        <section className="card confirm" aria-labelledby="confirm-title" data-testid="confirm">
          <p className="eyebrow">Pay to</p>
          <h2 id="confirm-title" className="merchant-name">
            {r.merchant.name}
          </h2>
          <p className="muted">
            {r.merchant.city} · {categoryName(r.merchant.category)}
          </p>
          {r.amount ? (
            <p className="confirm-amount" data-testid="confirm-amount">
              {showMoney(r.amount)}
            </p>
          ) : (
            <label className="field">
              <span>Amount ({rangeText(r)})</span>
              <input
                name="amount"
                inputMode="decimal"
                placeholder="0.00"
                value={amountText}
                onChange={(e) => setAmountText(e.target.value)}
              />
            </label>
          )}
          <dl className="facts">
            <div>
              <dt>Fee</dt>
              <dd>{BigInt(r.fee.value) === 0n ? 'No fee' : showMoney(r.fee)}</dd>
            </div>
            <div>
              <dt>Reference</dt>
              <dd>{r.reference}</dd>
            </div>
            {r.description ? (
              <div>
                <dt>Details</dt>
                <dd>{r.description}</dd>
              </div>
            ) : null}
            <div>
              <dt>Valid for</dt>
              <dd>{left ?? 'expired'}</dd>
            </div>
          </dl>
          {error ? (
            <Notice kind="error" testId="pay-error">
              {error}
            </Notice>
          ) : null}
          <button
            type="button"
            className="button primary big"
            disabled={left === null}
            onClick={() => startPin(r)}
          >
            {left === null ? 'This request has expired' : 'Approve with PIN'}
          </button>
          <button type="button" className="button link" onClick={props.onClose}>
            Cancel
          </button>
        </section>
        <p className="fineprint">
          Checked by your processor against the signature of {r.processorId}. The merchant does not learn who
          you are.
        </p>
      </main>
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

function rangeText(r: Resolved): string {
  if (r.minAmount && r.maxAmount) return `${showMoney(r.minAmount)} to ${showMoney(r.maxAmount)}`;
  if (r.minAmount) return `at least ${showMoney(r.minAmount)}`;
  if (r.maxAmount) return `at most ${showMoney(r.maxAmount)}`;
  return `in ${r.currency}`;
}
