/**
 * The example shop's page: books with a "Pay with SEMOPS" button each, and the shop's order list that turns
 * to "paid" when the signed webhook arrives. Plain HTML, one stylesheet and one small script (the CSP allows
 * only the shop's own files).
 */
import { formatMoney, amount as money } from '@semops/merchant-sdk';
import type { Product } from './server.js';

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export function renderPage(p: {
  name: string;
  currency: string;
  products: readonly Product[];
  walletLinks: ReadonlyArray<{ name: string; url: string }>;
}): string {
  const cards = p.products
    .map(
      (b) => `
      <article class="book">
        <div class="cover" aria-hidden="true">${esc(b.title.slice(0, 1))}</div>
        <h3>${esc(b.title)}</h3>
        <p class="author">${esc(b.author)}</p>
        <p class="price">${esc(formatMoney(money(b.price, p.currency)))}</p>
        <button class="pay" data-semops-checkout data-create-url="/api/checkout" data-return-url="/?paid={order}"
          data-product="${esc(b.id)}" data-amount="${esc(b.price)}" data-currency="${esc(p.currency)}"
          aria-label="Pay ${esc(b.title)} with SEMOPS">Pay with SEMOPS</button>
      </article>`,
    )
    .join('');
  const wallets = p.walletLinks.length
    ? `<li>or in a web wallet of the demo (${p.walletLinks
        .map((w) => `<a href="${esc(w.url)}" target="_blank" rel="noopener">${esc(w.name)}</a>`)
        .join(' · ')}): the dialog links to each with the code filled in;</li>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(p.name)} — online shop</title>
<link rel="stylesheet" href="/shop.css">
<script type="module" src="/semops-checkout.js"></script>
<script type="module" src="/shop.js"></script>
</head>
<body>
<header><h1>${esc(p.name)}</h1><p>Books, delivered. Pay from your phone with SEMOPS: no card, no account at our shop.</p></header>
<main>
  <section class="books" aria-label="Books">${cards}
  </section>
  <section class="help">
    <h2>How to pay</h2>
    <ol>
      <li>Press <b>Pay with SEMOPS</b>: a QR code and a 10-digit payment code appear.</li>
      <li>Approve it with your PIN: scan the QR with your SEMOPS wallet;</li>
      ${wallets}
      <li>or from a terminal: <code>npx semops pay &lt;payment code&gt; --as anna</code> (PIN 1234).</li>
    </ol>
    <p class="note">The shop learns the payment by a signed webhook from its bank and marks the order paid.
    It never learns who paid. <b>Demo:</b> orders are kept in memory and are gone when the demo stops.</p>
  </section>
  <section class="orders">
    <h2>Orders <small>(shop back office; no login in this demo)</small></h2>
    <p id="message" role="status" aria-live="polite"></p>
    <div class="scroll"><table>
      <thead><tr><th>Order</th><th>Book</th><th>Amount</th><th>Payment code</th><th>Status</th><th></th></tr></thead>
      <tbody id="orders"><tr><td colspan="6">No orders yet.</td></tr></tbody>
    </table></div>
  </section>
</main>
</body>
</html>
`;
}

export const PAGE_CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1e293b;background:#f8fafc}
header{background:#7c2d12;color:#fff7ed;padding:20px 24px}
header h1{margin:0;font-family:Georgia,serif}
header p{margin:4px 0 0}
main{max-width:980px;margin:0 auto;padding:20px}
.books{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:16px}
.book{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:16px;display:flex;flex-direction:column}
.cover{height:120px;border-radius:8px;background:linear-gradient(135deg,#9a3412,#fdba74);color:#fff;font:700 56px Georgia,serif;display:flex;align-items:center;justify-content:center}
.book h3{margin:12px 0 0;font-size:17px}
.author{margin:0;color:#64748b}
.price{font-size:20px;font-weight:700;margin:8px 0 12px}
.pay{margin-top:auto;padding:12px;border:0;border-radius:10px;background:#0b5fff;color:#fff;font-size:16px;font-weight:600;cursor:pointer}
.pay:hover{background:#0647c9}
.pay:focus-visible,button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.help,.orders{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:8px 20px 16px;margin-top:20px}
.note{color:#475569;font-size:14px}
.scroll{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-size:14px}
code{overflow-wrap:anywhere}
th,td{text-align:left;padding:8px 6px;border-bottom:1px solid #e2e8f0}
td code{font-size:13px}
.status{font-weight:600;padding:2px 8px;border-radius:999px;background:#e2e8f0}
.status.PAID{background:#dcfce7;color:#14532d}
.status.EXPIRED,.status.CANCELLED{background:#fee2e2;color:#7f1d1d}
.status.PENDING{background:#fef9c3;color:#713f12}
.refund{padding:4px 10px;border:1px solid #94a3b8;border-radius:8px;background:#fff;cursor:pointer}
#message:empty{display:none}
#message{padding:8px 12px;border-radius:8px;background:#f1f5f9}
@media (max-width:600px){th:nth-child(1),td:nth-child(1){display:none}}
`;

/** The page's own script: keeps the order list current and wires the back-office refund button. */
export const PAGE_SCRIPT = `
const tbody = document.getElementById('orders');
const message = document.getElementById('message');
const LABEL = { PENDING: 'waiting for payment', PAID: 'paid', EXPIRED: 'expired', CANCELLED: 'cancelled' };

function cell(text, className) {
  const td = document.createElement('td');
  if (className) {
    const span = document.createElement('span');
    span.className = className;
    span.textContent = text;
    td.append(span);
  } else td.textContent = text;
  return td;
}

async function refresh() {
  const res = await fetch('/api/orders', { headers: { accept: 'application/json' } });
  if (!res.ok) return;
  const { orders } = await res.json();
  if (orders.length === 0) return;
  const rows = orders.map((o) => {
    const tr = document.createElement('tr');
    tr.dataset.order = o.id;
    const label = o.status === 'PENDING' && o.confirming ? 'confirming…' : LABEL[o.status] || o.status;
    const refunded = o.refunds.length ? ' (refunded ' + o.refunds.length + '×)' : '';
    tr.append(cell(o.id), cell(o.title), cell(o.display), cell(o.shortCode || ''),
      cell(label + refunded, 'status ' + o.status));
    const actions = document.createElement('td');
    if (o.status === 'PAID') {
      const b = document.createElement('button');
      b.className = 'refund';
      b.textContent = 'Refund';
      b.addEventListener('click', () => refund(o));
      actions.append(b);
    }
    tr.append(actions);
    return tr;
  });
  tbody.replaceChildren(...rows);
}

async function refund(o) {
  message.textContent = 'Refunding ' + o.id + '…';
  const res = await fetch('/api/orders/' + o.id + '/refund', {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{}',
  });
  const body = await res.json().catch(() => ({}));
  message.textContent = res.ok
    ? 'Refunded ' + o.display + ' for ' + o.id + '.'
    : 'Refund not possible: ' + ((body.error && body.error.code) || res.status) + ' — ' + ((body.error && body.error.message) || '');
  void refresh();
}

document.addEventListener('semops:paid', (e) => {
  message.textContent = 'Order ' + e.detail.orderId + ' is paid. Thank you!';
  void refresh();
});
document.addEventListener('semops:failed', (e) => {
  message.textContent = 'Order ' + (e.detail.orderId || '') + ' was not paid (' + e.detail.status.toLowerCase() + ').';
  void refresh();
});
// Back from a paid checkout (data-return-url="/?paid={order}"): say so, from the shop's own record.
const returned = new URLSearchParams(location.search).get('paid');
if (returned) {
  fetch('/api/orders/' + encodeURIComponent(returned), { headers: { accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : undefined))
    .then((o) => {
      if (o) message.textContent = 'Order ' + o.id + ' (' + o.title + '): ' + (LABEL[o.status] || o.status) + '.';
    });
}
void refresh();
setInterval(() => void refresh(), 2000);
`;
