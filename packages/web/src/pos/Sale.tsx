/** One sale: the request's QR code, short code and link, and its status live by server-sent events. */
import { useEffect, useState } from 'react';
import { messageOf } from '../shared/api';
import { countdown, showMoney } from '../shared/money';
import { Notice, useNow } from '../shared/ui';
import type { MerchantApi, PaymentRequest, RequestStatus } from './api';
import { QrCode } from './QrCode';

const STATUS_TEXT: Record<RequestStatus, string> = {
  OPEN: 'Waiting for payment',
  PAID: 'Paid',
  EXPIRED: 'Expired',
  CANCELLED: 'Cancelled',
};

export function isFinal(s: RequestStatus): boolean {
  return s !== 'OPEN';
}

/** `2020000427` → `202 000 0427` (easier to read out and type). */
function groupCode(code: string): string {
  return `${code.slice(0, 3)} ${code.slice(3, 6)} ${code.slice(6)}`;
}

/** Follows a request by server-sent events; falls back to polling when the stream cannot be kept. */
function useLiveRequest(
  merchant: MerchantApi,
  initial: PaymentRequest,
  onFinal: (r: PaymentRequest) => void,
) {
  const [request, setRequest] = useState(initial);
  const [live, setLive] = useState(false);
  const id = initial.id;
  useEffect(() => {
    if (isFinal(initial.status)) return;
    let done = false;
    let poll: ReturnType<typeof setInterval> | undefined;
    let es: EventSource | undefined;
    const pollNow = () => {
      if (poll || done) return;
      poll = setInterval(() => {
        merchant.request(id).then(update, () => undefined);
      }, 3000);
    };
    const update = (r: PaymentRequest) => {
      if (done) return;
      setRequest(r);
      if (isFinal(r.status)) {
        done = true;
        es?.close();
        if (poll) clearInterval(poll);
        setLive(false);
        onFinal(r);
      }
    };
    // The stream's URL carries a short-lived ticket for this request, never the API key.
    merchant.events(id).then((stream) => {
      if (done) {
        stream.close();
        return;
      }
      es = stream;
      stream.addEventListener('open', () => setLive(true));
      stream.addEventListener('status', (ev) =>
        update(JSON.parse((ev as MessageEvent<string>).data) as PaymentRequest),
      );
      stream.addEventListener('error', () => {
        setLive(false);
        if (stream.readyState === EventSource.CLOSED) pollNow();
      });
    }, pollNow);
    return () => {
      done = true;
      es?.close();
      if (poll) clearInterval(poll);
    };
    // One stream per request id: a new sale mounts a new SaleView.
  }, [id]);
  return { request, live };
}

export function SaleView(props: {
  merchant: MerchantApi;
  request: PaymentRequest;
  onNewSale: () => void;
  onFinal: (r: PaymentRequest) => void;
}) {
  const { request, live } = useLiveRequest(props.merchant, props.request, props.onFinal);
  const now = useNow(1000);
  const [error, setError] = useState<string>();
  const [copied, setCopied] = useState(false);
  const left = request.status === 'OPEN' ? countdown(request.expiresAt, now) : null;
  const status = request.status === 'OPEN' && left === null ? 'EXPIRED' : request.status;

  async function cancel() {
    setError(undefined);
    try {
      await props.merchant.cancel(request.id);
    } catch (e) {
      setError(messageOf(e));
    }
  }

  async function copyLink() {
    try {
      await navigator.clipboard.writeText(request.deepLink);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setError('Copying is not allowed here; select the link and copy it by hand.');
    }
  }

  return (
    <section className={`card sale sale-${status.toLowerCase()}`} aria-labelledby="sale-amount">
      <div className="sale-head">
        <p id="sale-amount" className="sale-amount">
          {request.amount ? showMoney(request.amount) : `Any amount (${request.currency})`}
        </p>
        <p className="muted">{request.reference}</p>
      </div>
      <p
        className={`status-pill status-${status.toLowerCase()}`}
        role="status"
        aria-live="assertive"
        data-testid="request-status"
        data-status={status}
      >
        {status === 'PAID' ? '✓ ' : ''}
        {STATUS_TEXT[status]}
        {status === 'OPEN' && left ? <span className="pill-extra"> · {left}</span> : null}
      </p>
      {status === 'OPEN' ? (
        <>
          <QrCode
            payload={request.qr}
            label={`QR code to pay ${request.amount ? showMoney(request.amount) : ''}`}
          />
          <p className="live-note" aria-hidden={!live}>
            {live ? 'Live: this screen turns to paid by itself.' : 'Connecting for live status…'}
          </p>
          <dl className="facts">
            <div>
              <dt>Short code</dt>
              <dd className="mono big-code" data-testid="short-code">
                {groupCode(request.shortCode)}
              </dd>
            </div>
            <div>
              <dt>Link</dt>
              <dd className="mono small-break" data-testid="deep-link">
                {request.deepLink}
              </dd>
            </div>
          </dl>
          <details className="qr-text">
            <summary>QR code text</summary>
            <p className="mono small-break" data-testid="qr-text">
              {request.qr}
            </p>
          </details>
          <div className="confirm-row">
            <button type="button" className="button secondary" onClick={() => void copyLink()}>
              {copied ? 'Copied' : 'Copy link'}
            </button>
            <button type="button" className="button secondary" onClick={() => void cancel()}>
              Cancel request
            </button>
          </div>
        </>
      ) : status === 'PAID' ? (
        <div className="paid-banner">
          <div className="receipt-check" aria-hidden="true">
            ✓
          </div>
          <p>
            Payment received
            {request.payments[0] ? (
              <>
                {' '}
                · <span className="mono">{request.payments[0].paymentId}</span>
              </>
            ) : null}
          </p>
        </div>
      ) : (
        <p className="muted">Nothing was paid. Start a new sale to try again.</p>
      )}
      {error ? <Notice kind="error">{error}</Notice> : null}
      {status !== 'OPEN' ? (
        <button type="button" className="button primary big" onClick={props.onNewSale}>
          New sale
        </button>
      ) : null}
    </section>
  );
}
