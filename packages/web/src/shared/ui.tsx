/** Small building blocks shared by the pages: header, notices, buttons and timers. */
import { useEffect, useState, type ReactNode } from 'react';

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
