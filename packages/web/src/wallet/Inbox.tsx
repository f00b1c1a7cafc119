/**
 * Requests for money other customers sent to this one: pay one (its code is resolved and approved like any
 * request, with the PIN) or decline it. Each shows its status.
 */
import { useCallback, useEffect, useState } from 'react';
import { ApiError } from '../shared/api';
import { showMoney, showTime } from '../shared/money';
import { Notice, Spinner } from '../shared/ui';
import type { InboxItem, InboxStatus, Resolved, WalletApi } from './api';
import { Approve } from './Approve';
import { unavailable } from './people';
import type { StoredDevice } from './store';

const STATUS_TEXT: Record<InboxStatus, string> = {
  OPEN: 'To pay',
  PAID: 'Paid',
  DECLINED: 'Declined',
  EXPIRED: 'Expired',
};

export function StatusBadge(props: { status: InboxStatus }) {
  return (
    <span className={`badge badge-${props.status.toLowerCase()}`} data-status={props.status}>
      {STATUS_TEXT[props.status]}
    </span>
  );
}

export function Inbox(props: {
  device: StoredDevice;
  wallet: WalletApi;
  onClose: () => void;
  onDeviceGone: (e: ApiError) => void;
}) {
  const { wallet, onDeviceGone } = props;
  const [items, setItems] = useState<InboxItem[]>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const [paying, setPaying] = useState<{ item: InboxItem; request: Resolved }>();

  const fail = useCallback(
    (e: unknown) => {
      if (e instanceof ApiError && (e.code === 'DEVICE_BLOCKED' || e.code === 'UNAUTHORIZED'))
        onDeviceGone(e);
      else setError(unavailable(e, 'The requests inbox'));
    },
    [onDeviceGone],
  );

  const load = useCallback(async () => {
    try {
      setItems((await wallet.inbox()).items);
    } catch (e) {
      setItems((old) => old ?? []);
      fail(e);
    }
  }, [wallet, fail]);

  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 15_000);
    return () => clearInterval(t);
  }, [load]);

  async function pay(item: InboxItem) {
    setError(undefined);
    setNotice(undefined);
    setBusy(item.id);
    try {
      setPaying({ item, request: await wallet.resolve(item.code) });
    } catch (e) {
      fail(e);
      void load();
    } finally {
      setBusy(undefined);
    }
  }

  async function decline(item: InboxItem) {
    setError(undefined);
    setNotice(undefined);
    setBusy(item.id);
    try {
      await wallet.decline(item.id);
      setNotice(`You declined the request of ${showMoney(item.amount)} from ${item.from}.`);
    } catch (e) {
      fail(e);
    } finally {
      setBusy(undefined);
      void load();
    }
  }

  if (paying) {
    const back = () => {
      setPaying(undefined);
      void load();
    };
    return (
      <Approve
        device={props.device}
        wallet={wallet}
        request={paying.request}
        onCancel={back}
        onDone={back}
        onFinal={(message) => {
          back();
          setError(message);
        }}
        onDeviceGone={onDeviceGone}
      />
    );
  }

  const open = (items ?? []).filter((i) => i.status === 'OPEN');
  const closed = (items ?? []).filter((i) => i.status !== 'OPEN');
  return (
    <main className="content">
      {error ? (
        <Notice kind="error" testId="inbox-error">
          {error}
        </Notice>
      ) : null}
      {notice ? (
        <Notice kind="info" testId="inbox-notice">
          {notice}
        </Notice>
      ) : null}
      <section className="card" aria-labelledby="inbox-open-title">
        <h2 id="inbox-open-title">Requests to pay</h2>
        {items === undefined ? (
          <Spinner label="Loading requests…" />
        ) : open.length === 0 ? (
          <p className="muted">Nobody is asking you for money.</p>
        ) : (
          <ul className="list" data-testid="inbox-open">
            {open.map((i) => (
              <li key={i.id} className="inbox-item" data-testid="inbox-item">
                <div className="list-row static">
                  <span className="list-main">
                    <span className="list-title">{i.from}</span>
                    <span className="list-detail">
                      {showTime(i.createdAt)}
                      {i.note ? ` · ${i.note}` : ''}
                    </span>
                  </span>
                  <span className="inbox-side">
                    <span className="amount">{showMoney(i.amount)}</span>
                    <StatusBadge status={i.status} />
                  </span>
                </div>
                <div className="inbox-actions">
                  <button
                    type="button"
                    className="button primary"
                    disabled={busy !== undefined}
                    onClick={() => void pay(i)}
                    aria-label={`Pay ${showMoney(i.amount)} to ${i.from}`}
                  >
                    {busy === i.id ? 'Checking…' : 'Pay'}
                  </button>
                  <button
                    type="button"
                    className="button secondary"
                    disabled={busy !== undefined}
                    onClick={() => void decline(i)}
                    aria-label={`Decline ${showMoney(i.amount)} from ${i.from}`}
                  >
                    Decline
                  </button>
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
      {closed.length > 0 ? (
        <section className="card" aria-labelledby="inbox-closed-title">
          <h2 id="inbox-closed-title">Earlier</h2>
          <ul className="list" data-testid="inbox-closed">
            {closed.map((i) => (
              <li key={i.id} className="list-row static" data-testid="inbox-item">
                <span className="list-main">
                  <span className="list-title">{i.from}</span>
                  <span className="list-detail">
                    {showTime(i.createdAt)}
                    {i.note ? ` · ${i.note}` : ''}
                  </span>
                </span>
                <span className="inbox-side">
                  <span className="amount">{showMoney(i.amount)}</span>
                  <StatusBadge status={i.status} />
                </span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <button type="button" className="button link" onClick={props.onClose}>
        Back to the wallet
      </button>
    </main>
  );
}
