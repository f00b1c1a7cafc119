/** The receipt of a completed payment, as the merchant's processor signed it. */
import { showMoney } from '../shared/money';
import { decodeReceipt, type Payment } from './api';

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
        <dl className="facts">
          {p.fx && p.charged ? (
            <div>
              <dt>Charged</dt>
              <dd data-testid="charged">
                {showMoney(p.charged)} ({p.fx.rate}
                {BigInt(p.fx.fee.value) > 0n ? `, fee ${showMoney(p.fx.fee)}` : ''})
              </dd>
            </div>
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
