/**
 * Approving one resolved request: show who is paid (a merchant, or a person by the short name their processor shows), the amount
 * (or ask for it), fee and expiry; approve with the PIN pad; wait for the payee's processor; show the receipt.
 * Used by paying a code, sending money to a person and paying a request from the inbox.
 *
 * A request in another currency than the account's is shown with its exchange-rate quote — what the account
 * is debited (fee included), the rate, the fee, how long the price holds — before the PIN pad opens; a typed
 * amount is quoted first. The approval names the quote; when it expired meanwhile, the processor answers
 * with a new one, which is shown for the customer to approve again.
 */
import { useState } from 'react';
import type { MoneyWire } from '@semops/protocol';
import { ApiError, messageOf } from '../shared/api';
import { countdown, readAmount, showMoney } from '../shared/money';
import { AmountField, Notice, Spinner, useNow } from '../shared/ui';
import { categoryName, type FxQuote, type Payment, type Resolved, type WalletApi } from './api';
import { signApproval } from './device';
import './fx.css';
import { PinPad } from './PinPad';
import { ReceiptView } from './Receipt';
import type { StoredDevice } from './store';

type Step =
  | { kind: 'confirm' }
  | { kind: 'pin'; amount: MoneyWire; quote?: FxQuote }
  | { kind: 'waiting' }
  | { kind: 'done'; payment: Payment };

/** Errors after which the same request cannot be paid: leave this screen. */
const FINAL_CODES = new Set([
  'REQUEST_EXPIRED',
  'REQUEST_ALREADY_PAID',
  'REQUEST_CANCELLED',
  'REQUEST_NOT_FOUND',
  'PIN_LOCKED',
]);

export function Approve(props: {
  device: StoredDevice;
  wallet: WalletApi;
  request: Resolved;
  /** The customer leaves without paying. */
  onCancel: () => void;
  /** The request cannot be paid any more (expired, paid, cancelled…): leave with this message. */
  onFinal: (message: string) => void;
  /** Done on the receipt. */
  onDone: () => void;
  onDeviceGone: (e: ApiError) => void;
}) {
  const { wallet, device, request: r, onDeviceGone } = props;
  // A person (send money, or a request from the inbox): money transfer category, the short name their processor shows.
  const person = r.kind === 'p2p' || r.merchant.category === '4829';
  const sending = r.kind === 'p2p';
  const [step, setStep] = useState<Step>({ kind: 'confirm' });
  const [error, setError] = useState<string>();
  const [amountText, setAmountText] = useState('');
  // Re-render every second for the countdowns, which read the clock itself: a price that just arrived
  // must not show a second more than it holds.
  useNow(1000);
  const now = Date.now();
  // Paying from an account in another currency: the quote shown, and whether one is being fetched.
  const converts = r.currency !== device.customer.currency;
  const [quote, setQuote] = useState<FxQuote | undefined>(r.quote);
  // The quote it replaced after expiring, to show what changed, and whether the processor refused it.
  const [previous, setPrevious] = useState<FxQuote>();
  const [requoted, setRequoted] = useState(false);
  const [quoting, setQuoting] = useState(false);
  const quoteLeft = quote ? countdown(quote.expiresAt, now) : null;

  function fail(e: unknown) {
    if (e instanceof ApiError && (e.code === 'DEVICE_BLOCKED' || e.code === 'UNAUTHORIZED')) {
      onDeviceGone(e);
      return;
    }
    setError(messageOf(e));
  }

  function startPin() {
    setError(undefined);
    setRequoted(false);
    let amount: MoneyWire | undefined = r.amount;
    if (!amount) {
      const read = readAmount(amountText, r.currency);
      if (typeof read === 'string') {
        setError(read);
        return;
      }
      const v = BigInt(read.value);
      if ((r.minAmount && v < BigInt(r.minAmount.value)) || (r.maxAmount && v > BigInt(r.maxAmount.value))) {
        setError(`Enter an amount ${rangeText(r)}.`);
        return;
      }
      amount = read;
    }
    if (converts) {
      // The PIN pad opens only under a quote for exactly this amount that still holds.
      const shown = quote && quote.amount.value === amount.value && quote.expiresAt > Date.now();
      if (!shown) {
        void fetchQuote(amount);
        return;
      }
      setStep({ kind: 'pin', amount, quote });
      return;
    }
    setStep({ kind: 'pin', amount });
  }

  async function fetchQuote(amount: MoneyWire) {
    setQuoting(true);
    try {
      const fresh = await wallet.quote(r.requestId, amount);
      // A new price for the same amount replaces one that ran out: show both.
      setPrevious(quote && quote.amount.value === amount.value ? quote : undefined);
      setQuote(fresh);
    } catch (e) {
      fail(e);
    } finally {
      setQuoting(false);
    }
  }

  async function approve(amount: MoneyWire, pin: string, shown?: FxQuote) {
    setError(undefined);
    setStep({ kind: 'waiting' });
    try {
      const approval = await signApproval(device, r, amount, pin, shown?.quoteId);
      let payment = await wallet.pay(approval);
      const end = Date.now() + 30_000;
      while (payment.status === 'PENDING' && Date.now() < end) {
        await new Promise((res) => setTimeout(res, 500));
        payment = await wallet.payment(payment.paymentId);
      }
      if (payment.status === 'COMPLETED') setStep({ kind: 'done', payment });
      else if (payment.status === 'PENDING') {
        setStep({ kind: 'confirm' });
        setError('The payment is still being processed. It will show in your activity when it completes.');
      } else {
        setStep({ kind: 'confirm' });
        setError(`The payment did not go through (${payment.error ?? 'rejected'}). No money was taken.`);
      }
    } catch (e) {
      const fresh = e instanceof ApiError ? (e.details as { quote?: FxQuote } | undefined)?.quote : undefined;
      if (e instanceof ApiError && (e.code === 'QUOTE_EXPIRED' || e.code === 'QUOTE_NOT_FOUND') && fresh) {
        // Nothing was paid: show the new price and let the customer decide again.
        setPrevious(shown);
        setQuote(fresh);
        setRequoted(true);
        setStep({ kind: 'confirm' });
        return;
      }
      if (e instanceof ApiError && e.code === 'QUOTE_MISMATCH') {
        setQuote(undefined);
        setPrevious(undefined);
      }
      if (e instanceof ApiError && e.code === 'PIN_INVALID') {
        setStep({ kind: 'pin', amount, ...(shown ? { quote: shown } : {}) });
      } else if (e instanceof ApiError && FINAL_CODES.has(e.code)) {
        props.onFinal(e.message);
        return;
      } else {
        setStep({ kind: 'confirm' });
      }
      fail(e);
    }
  }

  if (step.kind === 'done')
    return <ReceiptView payment={step.payment} onDone={props.onDone} title={sending ? 'Sent' : 'Paid'} />;

  if (step.kind === 'pin') {
    const pinQuoteLeft = step.quote ? countdown(step.quote.expiresAt, now) : null;
    return (
      <main className="content">
        <section className="card summary-mini" data-testid="pin-summary">
          <p>
            {sending ? 'Send' : 'Pay'} <strong>{showMoney(step.amount)}</strong> to{' '}
            <strong>{r.merchant.name}</strong>
          </p>
          {step.quote ? (
            <>
              <p className="fx-pin-total" data-testid="pin-fx">
                You pay <strong>{showMoney(step.quote.total)}</strong>
              </p>
              <p className="fx-pin-detail" data-testid="pin-fx-detail">
                <span className="nowrap">{step.quote.rate}</span>
                {BigInt(step.quote.fee.value) > 0n ? (
                  <>
                    {' · '}
                    <span className="nowrap">fee {showMoney(step.quote.fee)}</span>
                  </>
                ) : null}
                {' · '}
                <span className="nowrap">
                  {pinQuoteLeft
                    ? `price held for ${pinQuoteLeft}`
                    : 'price expired: you will see the new one'}
                </span>
              </p>
            </>
          ) : null}
        </section>
        {error ? (
          <Notice kind="error" testId="pay-error">
            {error}
          </Notice>
        ) : null}
        <PinPad
          title="Enter your PIN"
          onSubmit={(pin) => void approve(step.amount, pin, step.quote)}
          onCancel={() => setStep({ kind: 'confirm' })}
        />
      </main>
    );
  }

  if (step.kind === 'waiting') {
    return (
      <main className="content">
        <section className="card">
          <Spinner label={`${sending ? 'Sending to' : 'Paying'} ${r.merchant.name}…`} />
          <p className="muted">
            Your processor is sending the payment to the {person ? 'recipient’s' : 'merchant’s'} processor.
          </p>
        </section>
      </main>
    );
  }

  const left = countdown(r.expiresAt, now);
  return (
    <main className="content">
      <section className="card confirm" aria-labelledby="confirm-title" data-testid="confirm">
        <p className="eyebrow">{sending ? 'Send to' : 'Pay to'}</p>
        <h2 id="confirm-title" className="merchant-name" data-testid="payee-name">
          {r.merchant.name}
        </h2>
        <p className="muted">
          {person
            ? `Customer of ${r.processorId}${r.merchant.city ? ` · ${r.merchant.city}` : ''}`
            : [r.merchant.city, categoryName(r.merchant.category)].filter(Boolean).join(' · ')}
        </p>
        {r.amount ? (
          <p className="confirm-amount" data-testid="confirm-amount">
            {showMoney(r.amount)}
          </p>
        ) : (
          <AmountField
            hint={rangeText(r)}
            value={amountText}
            onChange={(text) => {
              setAmountText(text);
              setError(undefined);
              if (!r.amount) {
                setQuote(undefined);
                setPrevious(undefined);
              }
            }}
            onEnter={startPin}
          />
        )}
        {converts && quote && requoted ? (
          <div className="fx-notice">
            <Notice kind="info" testId="fx-expired">
              <strong>The exchange rate expired.</strong> Nothing was paid. Check the new price and approve
              again.
            </Notice>
          </div>
        ) : null}
        {converts && quote ? (
          <section className="fx-quote" data-testid="fx-quote" aria-labelledby="fx-title">
            <p id="fx-title" className="eyebrow">
              {previous ? 'New price' : 'Price'} in {quote.total.currency}
            </p>
            <dl className="facts fx-lines">
              <div className="fx-rate-row">
                <dt>Rate</dt>
                <dd className="nowrap" data-testid="fx-rate">
                  {quote.rate}
                </dd>
              </div>
              <div>
                <dt>{showMoney(quote.amount)} converted</dt>
                <dd className="nowrap" data-testid="fx-converted">
                  {showMoney(quote.converted)}
                </dd>
              </div>
              <div>
                <dt>Conversion fee</dt>
                <dd className="nowrap" data-testid="fee">
                  {BigInt(quote.fee.value) === 0n ? 'No fee' : showMoney(quote.fee)}
                </dd>
              </div>
            </dl>
            <div className="fx-total">
              <span>You pay</span>
              <span className="fx-total-amount">
                <strong data-testid="fx-total">{showMoney(quote.total)}</strong>
                {previous && previous.total.value !== quote.total.value ? (
                  <span className="fx-was" data-testid="fx-was">
                    was <s>{showMoney(previous.total)}</s>
                  </span>
                ) : null}
              </span>
            </div>
            <p className={quoteLeft ? 'fx-valid' : 'fx-valid expired'} data-testid="fx-valid">
              {quoteLeft ? (
                <>
                  Price held for <strong>{quoteLeft}</strong>
                </>
              ) : (
                'Price expired: get a new one before you approve'
              )}
            </p>
          </section>
        ) : null}
        {converts && !quote ? (
          <p className="muted" data-testid="fx-pending">
            {r.amount
              ? `Your account is in ${device.customer.currency}: get the price before you approve.`
              : `Your account is in ${device.customer.currency}: enter the amount to see what you pay.`}
          </p>
        ) : null}
        <dl className="facts">
          {converts && quote ? null : (
            <div>
              <dt>{converts ? 'Conversion fee' : 'Fee'}</dt>
              <dd data-testid="fee">{BigInt(r.fee.value) === 0n ? 'No fee' : showMoney(r.fee)}</dd>
            </div>
          )}
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
            <dt>{converts ? 'Request valid for' : 'Valid for'}</dt>
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
          disabled={left === null || quoting}
          onClick={startPin}
          data-testid="approve"
        >
          {left === null
            ? 'This request has expired'
            : quoting
              ? 'Getting the price…'
              : converts && (!quote || quoteLeft === null)
                ? quote
                  ? 'Get a new price'
                  : `Show the price in ${device.customer.currency}`
                : 'Approve with PIN'}
        </button>
        <button type="button" className="button link" onClick={props.onCancel}>
          Cancel
        </button>
      </section>
      <p className="fineprint">
        {person
          ? `Checked by your processor with ${r.processorId}, the recipient’s processor. Check the name before you approve.`
          : `Checked by your processor against the signature of ${r.processorId}. The merchant does not learn who you are.`}
      </p>
    </main>
  );
}

function rangeText(r: Resolved): string {
  if (r.minAmount && r.maxAmount) return `${showMoney(r.minAmount)} to ${showMoney(r.maxAmount)}`;
  if (r.minAmount) return `at least ${showMoney(r.minAmount)}`;
  if (r.maxAmount) return `at most ${showMoney(r.maxAmount)}`;
  return `in ${r.currency}`;
}
