/**
 * The phone simulator: pick a demo customer's number (or type any), then use SMS or USSD as that
 * customer's feature phone would. The page talks only to the simulator server that served it, which plays
 * the operator's gateways towards the processors.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, messageOf } from '../shared/api';
import { Header, Notice, Spinner } from '../shared/ui';
import { simulatorApi, type SimulatorSetup } from './api';
import { SmsPhone } from './Sms';
import { UssdPhone } from './Ussd';

type Mode = 'ussd' | 'sms';
const OTHER = 'other';

/** `+43 664 100 0001` → `+436641000001`; undefined unless it can be a number with country code. */
function normalizePhone(raw: string): string | undefined {
  let s = raw.trim().replace(/[\s().-]/g, '');
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  else if (/^\d/.test(s)) s = `+${s}`;
  return /^\+[1-9]\d{6,14}$/.test(s) ? s : undefined;
}

export function SimulatorApp() {
  const [setup, setSetup] = useState<SimulatorSetup>();
  const [loadError, setLoadError] = useState<string>();
  const [typed, setTyped] = useState('');
  const [mode, setMode] = useState<Mode>('ussd');
  const [error, setError] = useState<string>();
  const onError = useCallback((m: string | undefined) => setError(m), []);

  useEffect(() => {
    simulatorApi.setup().then(
      (s) => {
        setSetup(s);
        setTyped(s.phones[0]?.phone ?? '');
      },
      (e: unknown) =>
        setLoadError(
          e instanceof ApiError && e.status === 404
            ? 'This page works with the phone simulator of the demo, which plays the SMS and USSD gateways: run `npm start` and open the phone simulator address it prints (http://127.0.0.1:4008/app/simulator.html by default).'
            : messageOf(e),
        ),
    );
  }, []);

  const phone = normalizePhone(typed);
  const demo = setup?.phones.find((p) => normalizePhone(p.phone) === phone);
  const names = useMemo(() => new Map(setup?.processors.map((p) => [p.id, p.name])), [setup]);
  const processorName = useCallback((id: string) => names.get(id) ?? id, [names]);

  return (
    <>
      <Header title="Phone simulator" subtitle="SMS and USSD, as on a feature phone" />
      <main className="content simulator">
        {loadError ? (
          <Notice kind="error" testId="sim-load-error">
            {loadError}
          </Notice>
        ) : !setup ? (
          <Spinner label="Loading the phone simulator…" />
        ) : (
          <>
            <section className="card sim-card" aria-label="SIM card">
              <div className="field-row">
                <label className="field">
                  <span>Demo customer</span>
                  <select
                    value={demo ? demo.phone : OTHER}
                    onChange={(e) => {
                      if (e.target.value !== OTHER) setTyped(e.target.value);
                    }}
                  >
                    {setup.phones.map((p) => (
                      <option key={p.phone} value={p.phone}>
                        {p.name} ({processorName(p.processorId)})
                      </option>
                    ))}
                    <option value={OTHER}>Other number</option>
                  </select>
                </label>
                <label className="field">
                  <span>Phone number</span>
                  <input
                    type="tel"
                    value={typed}
                    onChange={(e) => setTyped(e.target.value)}
                    autoComplete="off"
                    placeholder="+436641000001"
                    aria-invalid={phone === undefined}
                    aria-describedby="phone-hint"
                  />
                </label>
              </div>
              <p id="phone-hint" className="sim-hint">
                {phone === undefined
                  ? 'Type a phone number with country code, e.g. +436641000001.'
                  : demo
                    ? `${demo.name}'s phone, a customer of ${processorName(demo.processorId)}.`
                    : 'Not a demo customer: the processor that has this number answers (or says it has no account).'}
              </p>
            </section>

            <div className="mode-switch" role="group" aria-label="Channel">
              {(['ussd', 'sms'] as const).map((m) => (
                <button
                  key={m}
                  type="button"
                  className={mode === m ? 'mode on' : 'mode'}
                  aria-pressed={mode === m}
                  onClick={() => {
                    setMode(m);
                    setError(undefined);
                  }}
                >
                  {m === 'ussd' ? 'USSD' : 'SMS'}
                </button>
              ))}
            </div>

            {error ? (
              <Notice kind="error" testId="sim-error">
                {error}
              </Notice>
            ) : null}

            {phone === undefined ? (
              <p className="muted">Enter a phone number above to use the phone.</p>
            ) : mode === 'ussd' ? (
              <UssdPhone
                phone={phone}
                serviceCode={setup.serviceCode}
                processorName={demo ? processorName(demo.processorId) : undefined}
                onError={onError}
              />
            ) : (
              <SmsPhone
                phone={phone}
                smsNumber={setup.smsNumber}
                processorName={processorName}
                onError={onError}
              />
            )}

            <p className="fineprint">
              {mode === 'ussd'
                ? `Dial ${setup.serviceCode}: 1 Send money, 2 Pay merchant, 3 Withdraw cash, 4 Balance, 5 Mini statement, 6 Change PIN, 7 Block account, 8 Bills & airtime, 9 Pay requests. 0 goes back.`
                : `Texts to ${setup.smsNumber}: PAY <code> [amount], SEND <phone or name@provider> <amount>, BILL <biller> <account> <amount>, AIRTIME [phone] <amount>, ACCEPT <n> from INBOX (then your PIN alone); BAL, MINI, BLOCK, HELP.`}{' '}
              The simulator delivers through the processor&apos;s gateway; its secret never reaches this page.
            </p>
          </>
        )}
      </main>
    </>
  );
}
