/**
 * The receipt of a completed payment, as the merchant's processor signed it. A converted payment also shows
 * what the customer's account was charged in its currency, and the rate and fee it was converted at.
 */
import { decodeReceipt, type Payment } from './api';
import './fx.css';
import { showMoney } from '../shared/money';

export function ReceiptView(props: { payment: Payment; onDone: () => void; title?: string }) {
  const p = props.payment;
  const r = p.receipt ? decodeReceipt(p.receipt) : undefined;
  const merchant = r?.merchant ?? p.merchant;
  const at = new Date(r?.acceptedAt ?? p.createdAt);
  return (
    <main className="content">
      <section className="card receipt" aria-labelledby="receipt-title" data-testid="receipt">
        <div className="receipt-check" aria-hidden="true">
          ✓
        </div>
        <h2 id="receipt-title">{props.title ?? 'Paid'}</h2>
        <p className="receipt-amount">{showMoney(r?.amount ?? p.amount)}</p>
        <p className="receipt-merchant">
          to <strong>{merchant.name}</strong>
          {merchant.city ? `, ${merchant.city}` : ''}
        </p>
        {p.fx && p.charged ? (
          <div className="fx-total fx-charged">
            <span>
              Charged
              <small>to your {p.charged.currency} account</small>
            </span>
            <strong data-testid="charged">{showMoney(p.charged)}</strong>
          </div>
        ) : null}
        <dl className="facts">
          {p.fx ? (
            <>
              <div className="fx-rate-row">
                <dt>Rate</dt>
                <dd className="nowrap" data-testid="charged-rate">
                  {p.fx.rate}
                </dd>
              </div>
              <div>
                <dt>Conversion fee</dt>
                <dd className="nowrap" data-testid="charged-fee">
                  {BigInt(p.fx.fee.value) === 0n ? 'No fee' : showMoney(p.fx.fee)}
                </dd>
              </div>
            </>
          ) : null}
          <div>
            <dt>Time</dt>
            <dd>{at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })}</dd>
          </div>
          <div>
            <dt>Reference</dt>
            <dd>{r?.reference ?? p.reference}</dd>
          </div>
          <div>
            <dt>Payment</dt>
            <dd className="mono" data-testid="payment-id">
              {p.paymentId}
            </dd>
          </div>
          {r ? (
            <div>
              <dt>Receipt</dt>
              <dd className="mono">{r.receiptId}</dd>
            </div>
          ) : null}
          <div>
            <dt>Signed by</dt>
            <dd>{r ? `${r.processorId} (merchant’s processor)` : 'receipt on its way'}</dd>
          </div>
        </dl>
        <button type="button" className="button primary" onClick={props.onDone}>
          Done
        </button>
      </section>
    </main>
  );
}
