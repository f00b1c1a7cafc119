/**
 * The merchant POS: the API key once (kept on this device), then sales — amount and reference in, a QR code
 * out, turning to paid by itself — and the payments received today.
 */
import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { ApiError, messageOf, processorInfo, type ProcessorInfo } from '../shared/api';
import { readAmount, showMoney, showTime } from '../shared/money';
import { AmountField, Header, Notice, Spinner, TextField } from '../shared/ui';
import {
  decodeJws,
  merchantApi,
  type IncomingPayment,
  type MerchantApi,
  type PaymentRequest,
  type Refund,
  type RequestToken,
} from './api';
import { RefundPanel, refundedTotal } from './Refund';
import { SaleView } from './Sale';

const KEY_STORE = 'semops.pos.apiKey';
const NAME_STORE = 'semops.pos.merchant';
const CURRENT_STORE = 'semops.pos.currentRequest';

function KeySetup(props: { info: ProcessorInfo | undefined; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function submit(e: FormEvent) {
    e.preventDefault();
    const k = key.trim();
    if (!/^[\w.~+/=-]{8,200}$/.test(k)) {
      setError('Paste the whole key: a till key (rk_…) from the merchant, or the secret key (sk_…).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await merchantApi(k).payments();
      props.onKey(k);
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'UNAUTHORIZED'
          ? `${props.info?.name ?? 'This processor'} does not know this API key. Check it and paste it again.`
          : messageOf(err),
      );
      setBusy(false);
    }
  }
  return (
    <main className="content">
      <section className="card">
        <h2>Connect this till</h2>
        <p className="muted">
          Paste your merchant API key from {props.info?.name ?? 'your processor'} once. It stays on this
          device only; anyone with this device can take payments for you, never send money.
        </p>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <label className="field">
            <span>Merchant API key</span>
            <input
              name="apiKey"
              type="password"
              autoComplete="off"
              spellCheck={false}
              placeholder="sk_…"
              value={key}
              onChange={(e) => setKey(e.target.value)}
            />
          </label>
          {error ? <Notice kind="error">{error}</Notice> : null}
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Checking…' : 'Connect'}
          </button>
        </form>
      </section>
    </main>
  );
}

function NewSale(props: { merchant: MerchantApi; currency: string; onCreated: (r: PaymentRequest) => void }) {
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [minutes, setMinutes] = useState('15');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    const money = readAmount(amount, props.currency);
    if (typeof money === 'string') {
      setError(money);
      return;
    }
    const ref =
      reference.trim() ||
      `Sale ${new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`;
    setBusy(true);
    try {
      const r = await props.merchant.createRequest({
        amount: money,
        currency: props.currency,
        reference: ref,
        expiresInSeconds: Number(minutes) * 60,
      });
      props.onCreated(r);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  }
  return (
    <section className="card" aria-labelledby="new-sale-title">
      <h2 id="new-sale-title">New sale</h2>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <AmountField hint={props.currency} value={amount} onChange={setAmount} />
        <TextField
          label="Reference (optional)"
          name="reference"
          placeholder="Table 4, order 1182…"
          value={reference}
          onChange={setReference}
        />
        <label className="field">
          <span>Valid for</span>
          <select name="validity" value={minutes} onChange={(e) => setMinutes(e.target.value)}>
            <option value="5">5 minutes</option>
            <option value="15">15 minutes</option>
            <option value="60">1 hour</option>
          </select>
        </label>
        {error ? <Notice kind="error">{error}</Notice> : null}
        <button type="submit" className="button primary big" disabled={busy}>
          {busy ? 'Creating…' : 'Show QR code'}
        </button>
      </form>
    </section>
  );
}

function Today(props: {
  merchant: MerchantApi;
  payments: IncomingPayment[] | undefined;
  error: string | undefined;
  currency: string;
  /** A till key (rk_…) cannot refund: the till shows payments only. */
  canRefund: boolean;
}) {
  const [open, setOpen] = useState<string>();
  const [refunds, setRefunds] = useState<ReadonlyMap<string, Refund[]>>(new Map());
  const onRefunds = useCallback(
    (paymentId: string, list: Refund[]) => setRefunds((m) => new Map(m).set(paymentId, list)),
    [],
  );
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  const today = (props.payments ?? []).filter(
    (p) => p.createdAt >= start.getTime() && p.status === 'COMPLETED',
  );
  const byCurrency = new Map<string, bigint>();
  for (const p of today)
    byCurrency.set(p.amount.currency, (byCurrency.get(p.amount.currency) ?? 0n) + BigInt(p.amount.value));
  const refundedByCurrency = new Map<string, bigint>();
  for (const p of today) {
    const list = refunds.get(p.paymentId);
    if (!list) continue;
    const r = BigInt(refundedTotal(list, p.amount.currency).value);
    if (r > 0n)
      refundedByCurrency.set(p.amount.currency, (refundedByCurrency.get(p.amount.currency) ?? 0n) + r);
  }
  return (
    <section className="card" aria-labelledby="today-title">
      <div className="card-title-row">
        <h2 id="today-title">Today</h2>
        <p className="today-total" data-testid="today-total">
          {[...byCurrency]
            .map(([currency, value]) => showMoney({ value: value.toString(), currency }))
            .join(' + ') || showMoney({ value: '0', currency: props.currency })}
        </p>
      </div>
      {refundedByCurrency.size > 0 ? (
        <p className="refund-summary" data-testid="today-refunded">
          Refunded today{' '}
          {[...refundedByCurrency]
            .map(([currency, value]) => showMoney({ value: value.toString(), currency }, '-'))
            .join(' + ')}
        </p>
      ) : null}
      {props.canRefund ? null : (
        <p className="muted" data-testid="till-key-note">
          This till takes payments with a till key; refunds are made with the merchant&apos;s secret key.
        </p>
      )}
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
      {props.payments === undefined ? (
        <Spinner label="Loading payments…" />
      ) : today.length === 0 ? (
        <p className="muted">No payments yet today.</p>
      ) : (
        <ul className="list" data-testid="today-payments">
          {today.map((p) => {
            const receipt = p.receipt ? decodeJws<{ reference?: string }>(p.receipt) : undefined;
            const title = receipt?.reference ?? 'Payment';
            const list = refunds.get(p.paymentId);
            const refunded = list ? refundedTotal(list, p.amount.currency) : undefined;
            return (
              <li key={p.paymentId} data-testid="today-payment" data-payment-id={p.paymentId}>
                <div className="list-row static">
                  <span className="list-main">
                    <span className="list-title">{title}</span>
                    <span className="list-detail">
                      {showTime(p.createdAt)} · <span className="mono">{p.paymentId.slice(0, 14)}…</span>
                      {refunded && BigInt(refunded.value) > 0n ? (
                        <>
                          {' · '}
                          <span data-testid="payment-refunded">refunded {showMoney(refunded)}</span>
                        </>
                      ) : null}
                    </span>
                  </span>
                  <span className="inbox-side">
                    <span className="amount in">{showMoney(p.amount, '+')}</span>
                    {open === p.paymentId || !props.canRefund ? null : (
                      <button
                        type="button"
                        className="button secondary small"
                        onClick={() => setOpen(p.paymentId)}
                        aria-label={`Refund ${title}, ${showMoney(p.amount)}`}
                      >
                        Refund
                      </button>
                    )}
                  </span>
                </div>
                {open === p.paymentId ? (
                  <RefundPanel
                    merchant={props.merchant}
                    payment={p}
                    onRefunds={onRefunds}
                    onClose={() => setOpen(undefined)}
                  />
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

export function PosApp() {
  const [apiKey, setApiKey] = useState<string | null>(() => localStorage.getItem(KEY_STORE));
  const [info, setInfo] = useState<ProcessorInfo>();
  const [merchantName, setMerchantName] = useState<string | null>(() => localStorage.getItem(NAME_STORE));
  const [current, setCurrent] = useState<PaymentRequest>();
  const [payments, setPayments] = useState<IncomingPayment[]>();
  const [paymentsError, setPaymentsError] = useState<string>();
  const merchant = useMemo(() => (apiKey ? merchantApi(apiKey) : undefined), [apiKey]);

  useEffect(() => {
    processorInfo().then(setInfo, () => undefined);
  }, []);

  const forgetKey = useCallback(() => {
    localStorage.removeItem(KEY_STORE);
    localStorage.removeItem(NAME_STORE);
    localStorage.removeItem(CURRENT_STORE);
    setApiKey(null);
    setMerchantName(null);
    setCurrent(undefined);
    setPayments(undefined);
  }, []);

  const loadPayments = useCallback(async () => {
    if (!merchant) return;
    try {
      setPayments((await merchant.payments()).payments);
      setPaymentsError(undefined);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'UNAUTHORIZED') forgetKey();
      else setPaymentsError(messageOf(e));
    }
  }, [merchant, forgetKey]);

  useEffect(() => {
    void loadPayments();
    const t = setInterval(() => void loadPayments(), 30_000);
    return () => clearInterval(t);
  }, [loadPayments]);

  // A reload keeps the sale on screen.
  useEffect(() => {
    const id = localStorage.getItem(CURRENT_STORE);
    if (merchant && id) merchant.request(id).then(setCurrent, () => localStorage.removeItem(CURRENT_STORE));
  }, [merchant]);

  const onCreated = useCallback((r: PaymentRequest) => {
    localStorage.setItem(CURRENT_STORE, r.id);
    const name = decodeJws<RequestToken>(r.token)?.merchant.name;
    if (name) {
      localStorage.setItem(NAME_STORE, name);
      setMerchantName(name);
    }
    setCurrent(r);
  }, []);

  const title = merchantName ?? 'Merchant POS';
  const subtitle = info ? `POS · ${info.name}` : 'POS';
  if (!merchant) {
    return (
      <>
        <Header title="Merchant POS" subtitle={info?.name} />
        <KeySetup
          info={info}
          onKey={(k) => {
            localStorage.setItem(KEY_STORE, k);
            setApiKey(k);
          }}
        />
      </>
    );
  }
  return (
    <>
      <Header
        title={title}
        subtitle={subtitle}
        actions={
          <button type="button" className="icon-button" aria-label="Disconnect this till" onClick={forgetKey}>
            <span aria-hidden="true">⏏</span>
          </button>
        }
      />
      <main className="content">
        {current ? (
          <SaleView
            key={current.id}
            merchant={merchant}
            request={current}
            onFinal={() => void loadPayments()}
            onNewSale={() => {
              localStorage.removeItem(CURRENT_STORE);
              setCurrent(undefined);
            }}
          />
        ) : (
          <NewSale merchant={merchant} currency={info?.currencies[0] ?? 'EUR'} onCreated={onCreated} />
        )}
        <Today
          merchant={merchant}
          payments={payments}
          error={paymentsError}
          currency={info?.currencies[0] ?? 'EUR'}
          canRefund={!apiKey?.startsWith('rk_')}
        />
      </main>
    </>
  );
}
