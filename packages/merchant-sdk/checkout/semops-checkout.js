// @ts-check
/**
 * SEMOPS checkout button (plain ES module). Usage and backend contract: @semops/merchant-sdk README.
 *   <script type="module" src="/semops-checkout.js"></script>
 *   <button data-semops-checkout data-create-url="/api/checkout" data-amount="12.50" data-currency="EUR"
 *           data-return-url="/thanks?order={order}">Pay with SEMOPS</button>
 */

const CONFIG_KEYS = new Set(['semopsCheckout', 'createUrl', 'returnUrl', 'autoOpen']);
const FAILED = new Set(['EXPIRED', 'CANCELLED', 'FAILED']);
const TEXT = {
  creating: 'Creating the payment…',
  waiting: 'Waiting for approval in your wallet…',
  PAID: 'Paid. Thank you!',
  EXPIRED: 'The request expired. Nothing was charged.',
  CANCELLED: 'Cancelled. Nothing was charged.',
  FAILED: 'The payment failed. Nothing was charged.',
};

const CSS = `
:host{all:initial}[hidden]{display:none!important}
.bg{position:fixed;inset:0;background:#0f172a8c;display:flex;align-items:center;justify-content:center;z-index:2147483647;font:16px/1.4 system-ui,sans-serif;color:#0f172a}
.dialog{position:relative;background:#fff;border-radius:14px;padding:24px;width:min(360px,calc(100vw - 32px));max-height:calc(100vh - 32px);overflow:auto;text-align:center;box-sizing:border-box}
h2{margin:0;font-size:18px}
.amount{font-size:28px;font-weight:700;margin:4px 0 12px}
.qr{width:232px;max-width:100%;display:block;margin:0 auto}
.hint,.expiry,.wallets{margin:10px 0 4px;color:#475569;font-size:14px}
.code{font:600 22px monospace;margin:0 0 8px}
.open{display:block;margin:10px 0;padding:12px;border-radius:10px;background:#0b5fff;color:#fff;text-decoration:none;font-weight:600}
.status{margin:12px 0 0;padding:10px;border-radius:10px;background:#f1f5f9}
[data-state=PAID]{background:#dcfce7;color:#14532d;font-weight:600}
[data-state=failed]{background:#fee2e2;color:#7f1d1d}
.close{position:absolute;top:8px;right:10px;border:0;background:none;font-size:24px;cursor:pointer;color:#475569}
:focus-visible{outline:3px solid #0b5fff;outline-offset:2px}
`;

const TEMPLATE = `<div class="bg"><div class="dialog" role="dialog" aria-modal="true" aria-labelledby="t">
<button class="close" type="button" aria-label="Close">×</button>
<h2 id="t">Pay with SEMOPS</h2><p class="amount"></p>
<img class="qr" alt="Payment QR code" hidden>
<a class="open" hidden>Open my wallet app</a>
<p class="hint">Scan with your wallet, or enter this code in your wallet, SMS or USSD:</p>
<p class="code" hidden></p><p class="wallets" hidden>Or pay in a web wallet: </p>
<p class="status" role="status" aria-live="polite"></p><p class="expiry"></p>
</div></div>`;

/**
 * @param {Element} el
 * @param {'semops:paid' | 'semops:failed'} name
 * @param {Record<string, unknown>} detail
 */
function emit(el, name, detail) {
  el.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }));
}

/** @param {Response} res */
const errorText = (res) =>
  res.json().then(
    (b) => String(b?.error?.message ?? `HTTP ${res.status}`),
    () => `HTTP ${res.status}`,
  );

/** @type {WeakSet<HTMLElement>} */
const active = new WeakSet();

/**
 * Starts a checkout for a button (what a click does). Resolves when the dialog closes.
 * @param {HTMLElement} button
 */
export async function startCheckout(button) {
  if (active.has(button)) return;
  active.add(button);
  const data = button.dataset;
  const host = document.createElement('semops-checkout-dialog');
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = TEMPLATE;
  // A strict CSP (style-src 'self') allows a constructed sheet; <style> is the fallback.
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement('style');
    style.textContent = CSS;
    root.prepend(style);
  }
  /** @type {(sel: string) => HTMLElement} */
  const $ = (sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const status = $('.status');
  const expiry = $('.expiry');
  const qr = /** @type {HTMLImageElement} */ ($('.qr'));
  const open = /** @type {HTMLAnchorElement} */ ($('.open'));
  const code = $('.code');
  $('.amount').textContent = data.amount && data.currency ? `${data.amount} ${data.currency}` : '';

  /** @param {string} text @param {string} [state] */
  const show = (text, state = 'waiting') => {
    status.textContent = text;
    status.dataset.state = state;
  };
  let done = false;
  /** @type {(() => void)[]} */
  const cleanups = [];
  /** @type {{ id?: string; cancelUrl?: string; wallets?: { name: string; url: string }[] } & Record<string, unknown>} */
  let order = {};

  /** @param {string} state @param {Record<string, unknown>} [extra] */
  const finish = (state, extra = {}) => {
    if (done) return;
    done = true;
    cleanups.forEach((f) => f());
    expiry.textContent = '';
    const detail = { orderId: order.id, status: state, ...extra };
    if (state === 'PAID') {
      show(TEXT.PAID, 'PAID');
      emit(button, 'semops:paid', detail);
      const ret = data.returnUrl;
      if (ret)
        setTimeout(
          () => window.location.assign(ret.replace('{order}', encodeURIComponent(order.id ?? ''))),
          1200,
        );
    } else {
      show(String(extra.message ?? /** @type {any} */ (TEXT)[state] ?? TEXT.FAILED), 'failed');
      emit(button, 'semops:failed', detail);
    }
  };

  const closed = new Promise((resolve) => {
    const close = async () => {
      host.remove();
      document.removeEventListener('keydown', onKey, true);
      active.delete(button);
      button.focus();
      resolve(undefined);
      if (done) return;
      // Closed while waiting: cancel at the shop so it can no longer be paid, unless it just was.
      let state = 'CANCELLED';
      if (order.cancelUrl) {
        try {
          const res = await fetch(order.cancelUrl, {
            method: 'POST',
            headers: { accept: 'application/json' },
          });
          if (res.ok && (await res.json()).status === 'PAID') state = 'PAID';
        } catch {
          // the request expires by itself
        }
      }
      finish(state, { reason: 'closed' });
    };
    /** @param {KeyboardEvent} e */
    const onKey = (e) => {
      if (e.key === 'Escape') void close();
    };
    document.addEventListener('keydown', onKey, true);
    $('.close').addEventListener('click', () => void close());
    $('.bg').addEventListener('click', (/** @type {Event} */ e) => {
      if (e.target === e.currentTarget) void close();
    });
  });

  document.body.append(host);
  $('.close').focus();
  show(TEXT.creating);

  /** @type {Record<string, string>} */
  const body = {};
  for (const [k, v] of Object.entries(data)) if (!CONFIG_KEYS.has(k) && v !== undefined) body[k] = v;
  try {
    const res = await fetch(data.createUrl || '/api/checkout', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(await errorText(res));
    order = await res.json();
  } catch (e) {
    finish('FAILED', { message: `Could not start the payment: ${e instanceof Error ? e.message : e}` });
    return closed;
  }
  if (done) return closed;

  if (typeof order.display === 'string') $('.amount').textContent = order.display;
  if (typeof order.qrSvg === 'string') {
    qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(order.qrSvg)}`;
    qr.hidden = false;
  }
  if (typeof order.shortCode === 'string') {
    code.textContent = order.shortCode.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3');
    code.hidden = false;
  }
  if (typeof order.deepLink === 'string' && /^semops:/.test(order.deepLink)) {
    open.href = order.deepLink;
    // A phone (touch screen or narrow window): open the wallet app.
    if (matchMedia('(pointer: coarse)').matches || innerWidth < 640) {
      open.hidden = false;
      if (data.autoOpen !== 'false') window.location.href = order.deepLink;
    }
  }
  // Optional: web wallets the shop knows, linked with the code.
  const wallets = $('.wallets');
  for (const w of Array.isArray(order.wallets) ? order.wallets : []) {
    if (!/^https?:/.test(w.url)) continue;
    const a = document.createElement('a');
    a.href = w.url;
    a.target = '_blank';
    a.textContent = w.name;
    wallets.append(wallets.hidden ? '' : ' · ', a);
    wallets.hidden = false;
  }
  show(TEXT.waiting);

  const expiresAt = Number(order.expiresAt);
  if (expiresAt > 0) {
    const tick = () => {
      const s = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
      expiry.textContent = `Expires in ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    };
    tick();
    const t = setInterval(tick, 1000);
    cleanups.push(() => clearInterval(t));
  }

  /** @param {{ status?: string }} msg */
  const onStatus = ({ status: s = '' }) => {
    if (s === 'PAID' || FAILED.has(s)) finish(s);
  };
  const statusUrl = String(order.statusUrl ?? '');
  const poll = () => {
    const t = setInterval(async () => {
      try {
        const res = await fetch(statusUrl, { headers: { accept: 'application/json' } });
        if (res.ok) onStatus(await res.json());
        else if (res.status >= 400 && res.status < 500) finish('FAILED', { message: await errorText(res) });
      } catch {
        // offline for a moment: try again
      }
    }, 2000);
    cleanups.push(() => clearInterval(t));
  };
  if (typeof EventSource === 'function') {
    const es = new EventSource(statusUrl);
    es.addEventListener('status', (e) => onStatus(JSON.parse(/** @type {MessageEvent} */ (e).data)));
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED && !done) poll(); // not reconnecting: poll instead
    };
    cleanups.push(() => es.close());
  } else poll();
  return closed;
}

if (!(/** @type {any} */ (window).__semopsCheckout)) {
  /** @type {any} */ (window).__semopsCheckout = true;
  document.addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target.closest('[data-semops-checkout]') : null;
    if (!(target instanceof HTMLElement)) return;
    e.preventDefault();
    void startCheckout(target);
  });
}
