/** Balance, the ways to pay, and recent activity (ledger movements named after the payments they belong to). */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, messageOf } from '../shared/api';
import { showTime } from '../shared/money';
import { Notice, Spinner } from '../shared/ui';
import type { Me, NotificationKind, Payment, Transaction, WalletApi, WalletNotification } from './api';
import { showMoney } from '../shared/money';

interface Activity {
  id: string;
  title: string;
  detail: string;
  amount: string;
  direction: 'in' | 'out';
  state: string;
  at: number;
  payment?: Payment | undefined;
}

/** A leg of a converted payment on the customer's account: `<payment>:fx`, `:fxm` (margin), `:fee`. */
const FX_LEG = /^(pay_[0-9A-Z]+):(fx|fxm|fee)$/;

/**
 * One row per money movement. The ledger lists a two-phase transfer (a payment's reservation) and the
 * transfer that posted or voided it (`<id>:post`, `<id>:void`); the customer sees one payment. A payment
 * converted from the customer's currency debits up to three legs, shown as one row at their total.
 */
function activityOf(transactions: Transaction[], payments: Payment[]): Activity[] {
  const byId = new Map(payments.map((p) => [p.paymentId, p]));
  const seen = new Set<string>();
  const rows: Transaction[] = [];
  const rowOf = new Map<string, number>();
  for (const t of transactions) {
    const base = t.id.replace(/:(post|void)$/, '');
    if (seen.has(base)) continue;
    seen.add(base);
    const own = transactions.find((x) => x.id === base) ?? t;
    const voided = own.state === 'voided' || transactions.some((x) => x.id === `${base}:void`);
    const key = FX_LEG.exec(base)?.[1] ?? base;
    const at = rowOf.get(key);
    if (at !== undefined) {
      const first = rows[at]!;
      const value = (BigInt(first.amount.value) + BigInt(own.amount.value)).toString();
      rows[at] = { ...first, amount: { value, currency: first.amount.currency } };
      continue;
    }
    rowOf.set(key, rows.length);
    rows.push({ ...own, id: key, state: voided ? 'voided' : own.state });
  }
  return rows.map((t) => {
    const p = byId.get(t.id);
    const title = p
      ? p.merchant.name
      : t.kind === 'deposit'
        ? 'Cash deposit'
        : t.direction === 'in'
          ? 'Money in'
          : 'Payment';
    const detail = p ? [p.merchant.city, p.reference].filter(Boolean).join(' · ') : (t.reference ?? '');
    const state = t.state === 'pending' ? 'Pending' : t.state === 'voided' ? 'Cancelled' : '';
    return {
      id: t.id,
      title,
      detail,
      amount: showMoney(t.amount, t.direction === 'in' ? '+' : '-'),
      direction: t.direction,
      state,
      at: t.createdAt,
      payment: p,
    };
  });
}

const NOTE_ICON: Record<NotificationKind, { icon: string; out: boolean }> = {
  'payment.received': { icon: '+', out: false },
  'refund.received': { icon: '↩', out: false },
  'payment.sent': { icon: '→', out: true },
  'request.received': { icon: '?', out: true },
};

export function Home(props: {
  wallet: WalletApi;
  onSend: () => void;
  onRequest: () => void;
  onInbox: () => void;
  onScan: () => void;
  onEnterCode: () => void;
  onNfc: (() => void) | undefined;
  onReceipt: (p: Payment) => void;
  onDeviceGone: (e: ApiError) => void;
}) {
  const [me, setMe] = useState<Me>();
  const [activity, setActivity] = useState<Activity[]>();
  const [error, setError] = useState<string>();
  const [notifications, setNotifications] = useState<WalletNotification[]>();
  const [openRequests, setOpenRequests] = useState(0);
  const { wallet, onDeviceGone } = props;

  const load = useCallback(async () => {
    try {
      // Notifications and the inbox are extras: without them (an older processor) the wallet still works.
      const [m, t, p, n, inbox] = await Promise.all([
        wallet.me(),
        wallet.transactions(),
        wallet.payments(),
        wallet.notifications().catch(() => undefined),
        wallet.inbox().catch(() => undefined),
      ]);
      setMe(m);
      setActivity(activityOf(t.transactions, p.payments));
      setNotifications(n?.notifications);
      setOpenRequests(inbox ? inbox.items.filter((i) => i.status === 'OPEN').length : 0);
      setError(undefined);
    } catch (e) {
      if (e instanceof ApiError && (e.code === 'DEVICE_BLOCKED' || e.code === 'UNAUTHORIZED'))
        onDeviceGone(e);
      else setError(messageOf(e));
    }
  }, [wallet, onDeviceGone]);

  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 15_000);
    const onFocus = () => void load();
    window.addEventListener('focus', onFocus);
    return () => {
      clearInterval(t);
      window.removeEventListener('focus', onFocus);
    };
  }, [load]);

  return (
    <main className="content">
      <section className="card balance-card" aria-label="Balance">
        <p className="balance-label">Available</p>
        <p className="balance" data-testid="balance">
          {me ? showMoney(me.available) : '…'}
        </p>
        {me && me.available.value !== me.balance.value ? (
          <p className="balance-note">Balance {showMoney(me.balance)} · some payments are pending</p>
        ) : null}
        {me?.customer.pinLocked ? (
          <Notice kind="error">Your PIN is locked after too many wrong tries. Contact your processor.</Notice>
        ) : null}
      </section>

      <section className="pay-actions" aria-label="Pay">
        <button type="button" className="button primary big" onClick={props.onScan}>
          <span aria-hidden="true">▣</span> Scan QR code
        </button>
        <div className="pay-row">
          <button type="button" className="button secondary" onClick={props.onEnterCode}>
            Enter or paste a code
          </button>
          {props.onNfc ? (
            <button type="button" className="button secondary" onClick={props.onNfc}>
              Tap NFC
            </button>
          ) : null}
        </div>
      </section>

      <section className="wallet-actions" aria-label="People">
        <button type="button" className="button secondary" onClick={props.onSend}>
          Send money
        </button>
        <button type="button" className="button secondary" onClick={props.onRequest}>
          Request money
        </button>
        <button
          type="button"
          className="button secondary"
          onClick={props.onInbox}
          aria-label={openRequests > 0 ? `Inbox, ${openRequests} to pay` : 'Inbox'}
        >
          Inbox
          {openRequests > 0 ? (
            <span className="count" aria-hidden="true" data-testid="inbox-count">
              {openRequests}
            </span>
          ) : null}
        </button>
      </section>

      {error ? <Notice kind="error">{error}</Notice> : null}

      {notifications && notifications.length > 0 ? (
        <section className="card" aria-labelledby="notifications-title">
          <h2 id="notifications-title">Notifications</h2>
          <ul className="list" data-testid="notifications">
            {notifications.slice(0, 5).map((n) => (
              <li key={n.id} className="notification-row">
                <span
                  className={NOTE_ICON[n.kind]?.out ? 'notification-dot out' : 'notification-dot'}
                  aria-hidden="true"
                >
                  {NOTE_ICON[n.kind]?.icon ?? '•'}
                </span>
                <span className="list-main">
                  <span className="list-title">{n.text}</span>
                  <span className="list-detail">{showTime(n.createdAt)}</span>
                </span>
                {n.amount ? (
                  <span className={NOTE_ICON[n.kind]?.out ? 'amount' : 'amount in'}>
                    {showMoney(n.amount)}
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section className="card" aria-labelledby="activity-title">
        <h2 id="activity-title">Activity</h2>
        {activity === undefined ? (
          <Spinner label="Loading activity…" />
        ) : activity.length === 0 ? (
          <p className="muted">No payments yet.</p>
        ) : (
          <ul className="list" data-testid="activity">
            {activity.map((a) => (
              <li key={a.id}>
                <button
                  type="button"
                  className="list-row"
                  onClick={a.payment?.receipt ? () => props.onReceipt(a.payment!) : undefined}
                  disabled={!a.payment?.receipt}
                >
                  <span className="list-main">
                    <span className="list-title">{a.title}</span>
                    <span className="list-detail">
                      {showTime(a.at)}
                      {a.detail ? ` · ${a.detail}` : ''}
                      {a.state ? ` · ${a.state}` : ''}
                    </span>
                  </span>
                  <span className={a.direction === 'in' ? 'amount in' : 'amount'}>{a.amount}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}
