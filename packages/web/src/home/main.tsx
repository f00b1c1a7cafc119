/** `/app/`: what this processor offers on the web, with links to its pages. */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import { processorInfo, type ProcessorInfo } from '../shared/api';
import { Header, registerServiceWorker } from '../shared/ui';

function Index() {
  const [info, setInfo] = useState<ProcessorInfo>();
  useEffect(() => {
    processorInfo().then(setInfo, () => undefined);
  }, []);
  const base = import.meta.env.BASE_URL;
  return (
    <>
      <Header
        title="SEMOPS"
        subtitle={info ? `${info.name} · ${info.kind === 'bank' ? 'bank' : 'mobile operator'}` : undefined}
      />
      <main className="content">
        <p className="lead">
          Mobile payments that only move when you approve them on your own phone. Pick a page:
        </p>
        <nav className="tiles" aria-label="Pages">
          <a className="tile" href={`${base}wallet.html`}>
            <span className="tile-icon" aria-hidden="true">
              ◈
            </span>
            <span>
              <strong>Wallet</strong>
              <span className="tile-text">
                For customers{info ? ` of ${info.name}` : ''}: set up your phone, see your balance, scan and
                pay.
              </span>
            </span>
          </a>
          <a className="tile" href={`${base}pos.html`}>
            <span className="tile-icon" aria-hidden="true">
              ▣
            </span>
            <span>
              <strong>Merchant POS</strong>
              <span className="tile-text">
                For shops and vendors: ask for an amount, show the QR code, see it paid live.
              </span>
            </span>
          </a>
          <a className="tile" href={`${base}simulator.html`}>
            <span className="tile-icon" aria-hidden="true">
              ✆
            </span>
            <span>
              <strong>Phone simulator</strong>
              <span className="tile-text">
                In the demo: pay by SMS and USSD (*384#) as a customer with a feature phone.
              </span>
            </span>
          </a>
          {/* Coming with the other channels:
          <a className="tile" href={`${base}shop.html`}>Example shop with the checkout button</a>
          */}
        </nav>
        {info ? (
          <dl className="facts card">
            <div>
              <dt>Processor</dt>
              <dd>
                {info.name} ({info.id})
              </dd>
            </div>
            <div>
              <dt>Currencies</dt>
              <dd>{info.currencies.join(', ')}</dd>
            </div>
            <div>
              <dt>Payment codes</dt>
              <dd>start with {info.routingPrefix}</dd>
            </div>
          </dl>
        ) : null}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Index />
  </StrictMode>,
);
registerServiceWorker();
