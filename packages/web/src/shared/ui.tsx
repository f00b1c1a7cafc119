/** Small building blocks shared by the pages: header, notices, buttons and timers. */
import { useEffect, useState, type KeyboardEvent, type ReactNode } from 'react';

export function Header(props: {
  title: string;
  subtitle?: string | undefined;
  onBack?: (() => void) | undefined;
  actions?: ReactNode;
}) {
  return (
    <header className="top">
      {props.onBack ? (
        <button type="button" className="icon-button" onClick={props.onBack} aria-label="Back">
          <span aria-hidden="true">‹</span>
        </button>
      ) : (
        <img className="logo" src={`${import.meta.env.BASE_URL}icon.svg`} alt="" width="32" height="32" />
      )}
      <div className="top-text">
        <h1>{props.title}</h1>
        {props.subtitle ? <p>{props.subtitle}</p> : null}
      </div>
      {props.actions ? <div className="top-actions">{props.actions}</div> : null}
    </header>
  );
}

/** An error (role alert, read out at once), a success or a plain note. */
export function Notice(props: { kind: 'error' | 'success' | 'info'; children: ReactNode; testId?: string }) {
  return (
    <div
      className={`notice notice-${props.kind}`}
      role={props.kind === 'error' ? 'alert' : 'status'}
      data-testid={props.testId}
    >
      {props.children}
    </div>
  );
}

export function Spinner(props: { label: string }) {
  return (
    <div className="spinner-row" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{props.label}</span>
    </div>
  );
}

/** The current time, refreshed every `ms` (for countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** Registers the service worker that caches the app shell (installable PWA, opens offline). */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  window.addEventListener('load', () => {
    navigator.serviceWorker
      .register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL })
      .catch(() => undefined);
  });
}

/** An amount typed in major units (`4.20`), with the decimal keyboard on phones. */
export function AmountField(props: {
  /** What is asked, e.g. `EUR` or `€1.00 to €50.00`. */
  hint: string;
  value: string;
  onChange: (value: string) => void;
  /** Enter in the field (e.g. to go on to the PIN). */
  onEnter?: () => void;
}) {
  const { onEnter } = props;
  return (
    <label className="field">
      <span>Amount ({props.hint})</span>
      <input
        name="amount"
        className="amount-input"
        inputMode="decimal"
        autoComplete="off"
        placeholder="0.00"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        {...(onEnter
          ? {
              onKeyDown: (e: KeyboardEvent) => {
                if (e.key === 'Enter') onEnter();
              },
            }
          : {})}
      />
    </label>
  );
}

/**
 * A short text field: a reference or a note (at most 140 characters), or with `party` whom to pay or ask — a
 * phone number or an address `name@processor`, typed as is (phone keyboard, no autocorrect).
 */
export function TextField(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  party?: boolean;
}) {
  const party = props.party === true;
  return (
    <label className="field">
      <span>{props.label}</span>
      <input
        name={props.name}
        type="text"
        autoComplete="off"
        {...(party
          ? { inputMode: 'tel' as const, autoCapitalize: 'off', autoCorrect: 'off', spellCheck: false }
          : { maxLength: 140 })}
        placeholder={props.placeholder ?? (party ? '+43 664 1234567' : undefined)}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}
