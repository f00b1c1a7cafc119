/** The wallet: enrol this phone once, then see the balance, pay, read receipts and block the phone. */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { type ApiError, processorInfo, type ProcessorInfo } from '../shared/api';
import { Header, Notice, Spinner } from '../shared/ui';
import { walletApi, type Payment } from './api';
import { DeviceView } from './Device';
import { Enrol } from './Enrol';
import { Home } from './Home';
import { nfcAvailable } from './nfc';
import { Pay, type CaptureMode } from './Pay';
import { ReceiptView } from './Receipt';
import { RequestMoney } from './RequestMoney';
import { Inbox } from './Inbox';
import { Send } from './Send';
import { forgetDevice, loadDevice, type StoredDevice } from './store';

type Screen =
  | { kind: 'home' }
  | { kind: 'pay'; mode: CaptureMode; code?: string | undefined }
  | { kind: 'receipt'; payment: Payment }
  | { kind: 'device' }
  | { kind: 'send' }
  | { kind: 'request' }
  | { kind: 'inbox' };

/** A payment code handed over in the page address: `?code=…`, or an https link with `p` and `r`. */
function codeFromAddress(): string | undefined {
  const q = new URLSearchParams(window.location.search);
  const code = q.get('code');
  if (code) return code;
  if (q.get('p') && q.get('r')) return window.location.href;
  if (q.get('c')) return q.get('c') ?? undefined;
  return undefined;
}

export function WalletApp() {
  const [device, setDevice] = useState<StoredDevice | null>();
  const [info, setInfo] = useState<ProcessorInfo>();
  const [screen, setScreen] = useState<Screen>(() => {
    const code = codeFromAddress();
    return code ? { kind: 'pay', mode: 'paste', code } : { kind: 'home' };
  });
  const [notice, setNotice] = useState<string>();
  const [fatal, setFatal] = useState<string>();

  useEffect(() => {
    loadDevice().then(
      (d) => setDevice(d ?? null),
      () =>
        setFatal(
          'This browser does not let the page store its key (IndexedDB). Leave private mode and reload.',
        ),
    );
    processorInfo().then(setInfo, () => undefined);
  }, []);

  const wallet = useMemo(() => (device ? walletApi(device) : undefined), [device]);

  const home = useCallback(() => {
    setScreen({ kind: 'home' });
    if (window.location.search) window.history.replaceState(null, '', window.location.pathname);
  }, []);

  const onDeviceGone = useCallback((e: ApiError) => {
    void forgetDevice().then(() => {
      setDevice(null);
      setScreen({ kind: 'home' });
      setNotice(
        e.code === 'DEVICE_BLOCKED'
          ? 'This phone is blocked and was removed from the wallet. Set it up again with a new activation code.'
          : 'This phone is no longer enrolled. Set it up again with a new activation code.',
      );
    });
  }, []);

  const subtitle = info ? info.name : undefined;
  if (fatal) {
    return (
      <>
        <Header title="Wallet" subtitle={subtitle} />
        <main className="content">
          <Notice kind="error">{fatal}</Notice>
        </main>
      </>
    );
  }
  if (device === undefined) {
    return (
      <>
        <Header title="Wallet" subtitle={subtitle} />
        <main className="content">
          <Spinner label="Opening your wallet…" />
        </main>
      </>
    );
  }
  if (device === null || !wallet) {
    return (
      <>
        <Header title="Wallet" subtitle={subtitle} />
        {notice ? (
          <div className="content-notice">
            <Notice kind="info" testId="wallet-notice">
              {notice}
            </Notice>
          </div>
        ) : null}
        <Enrol
          processorName={info?.name}
          onEnrolled={(d) => {
            setNotice(undefined);
            setDevice(d);
          }}
        />
      </>
    );
  }

  switch (screen.kind) {
    case 'pay':
      return (
        <>
          <Header title="Pay" subtitle={device.customer.name} onBack={home} />
          <Pay
            device={device}
            wallet={wallet}
            mode={screen.mode}
            initialCode={screen.code}
            onClose={home}
            onDeviceGone={onDeviceGone}
          />
        </>
      );
    case 'send':
      return (
        <>
          <Header title="Send money" subtitle={device.customer.name} onBack={home} />
          <Send device={device} wallet={wallet} onClose={home} onDeviceGone={onDeviceGone} />
        </>
      );
    case 'request':
      return (
        <>
          <Header title="Request money" subtitle={device.customer.name} onBack={home} />
          <RequestMoney
            wallet={wallet}
            currency={device.customer.currency}
            onClose={home}
            onDeviceGone={onDeviceGone}
          />
        </>
      );
    case 'inbox':
      return (
        <>
          <Header title="Inbox" subtitle={device.customer.name} onBack={home} />
          <Inbox device={device} wallet={wallet} onClose={home} onDeviceGone={onDeviceGone} />
        </>
      );
    case 'receipt':
      return (
        <>
          <Header title="Receipt" subtitle={device.customer.name} onBack={home} />
          <ReceiptView payment={screen.payment} onDone={home} />
        </>
      );
    case 'device':
      return (
        <>
          <Header title="This phone" subtitle={device.customer.name} onBack={home} />
          <DeviceView
            device={device}
            wallet={wallet}
            onBlocked={() => {
              setDevice(null);
              setScreen({ kind: 'home' });
              setNotice('This phone is blocked. No payment can be approved from it any more.');
            }}
          />
        </>
      );
    case 'home':
      return (
        <>
          <Header
            title={`Hello, ${device.customer.name.split(' ')[0] ?? ''}`}
            subtitle={device.processor.name}
            actions={
              <button
                type="button"
                className="icon-button"
                aria-label="This phone and blocking it"
                onClick={() => setScreen({ kind: 'device' })}
              >
                <span aria-hidden="true">⚙</span>
              </button>
            }
          />
          <Home
            wallet={wallet}
            onSend={() => setScreen({ kind: 'send' })}
            onRequest={() => setScreen({ kind: 'request' })}
            onInbox={() => setScreen({ kind: 'inbox' })}
            onScan={() => setScreen({ kind: 'pay', mode: 'scan' })}
            onEnterCode={() => setScreen({ kind: 'pay', mode: 'paste' })}
            onNfc={nfcAvailable() ? () => setScreen({ kind: 'pay', mode: 'nfc' }) : undefined}
            onReceipt={(payment) => setScreen({ kind: 'receipt', payment })}
            onDeviceGone={onDeviceGone}
          />
        </>
      );
    default: {
      const never: never = screen;
      return never;
    }
  }
}
