/**
 * A feature phone: a small screen and a 12-key pad with the green (send), delete and red (end) keys. The
 * physical keyboard works too: digits, `*` and `#` press the keys, Enter is green, Escape is red,
 * Backspace deletes.
 */
import { useEffect, useRef, type KeyboardEvent as ReactKeyboardEvent, type ReactNode } from 'react';
import { KEY_LETTERS } from './multitap';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;

export interface HandsetProps {
  /** What the phone is doing, for screen readers: `Phone, USSD`. */
  readonly label: string;
  readonly screen: ReactNode;
  /** Letters under the keys (SMS typing) or only the digits (dialling). */
  readonly letters: boolean;
  readonly busy: boolean;
  /** Disables the keys, e.g. without a valid phone number. */
  readonly disabled?: boolean;
  /** A key of the pad pressed (on screen, or its key on the keyboard). */
  readonly onKey: (key: string) => void;
  /** Any other printable character typed on the keyboard while no field has the focus. */
  readonly onType?: (ch: string) => void;
  readonly onSend: () => void;
  readonly onEnd: () => void;
  readonly onDelete: () => void;
}

function isField(t: EventTarget | null): boolean {
  return (
    t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))
  );
}

export function Handset(props: HandsetProps) {
  // The window listener reads the latest props without being added again on every render.
  const latest = useRef(props);
  useEffect(() => {
    latest.current = props;
  });

  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent) => {
      const p = latest.current;
      if (p.disabled || e.ctrlKey || e.metaKey || e.altKey || isField(e.target)) return;
      // Enter on a focused button presses that button.
      if (e.key === 'Enter' && e.target instanceof HTMLButtonElement) return;
      if ((KEYS as readonly string[]).includes(e.key)) p.onKey(e.key);
      else if (e.key === 'Enter') p.onSend();
      else if (e.key === 'Escape') p.onEnd();
      else if (e.key === 'Backspace') p.onDelete();
      else if (e.key.length === 1 && p.onType && e.key !== ' ') p.onType(e.key);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, []);

  /** In the screen's own field, Enter sends and Escape ends; the rest is ordinary typing. */
  function onFieldKey(e: ReactKeyboardEvent) {
    if (!isField(e.target)) return;
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      props.onSend();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      props.onEnd();
    }
  }

  const off = props.disabled === true;
  return (
    <section className="handset" aria-label={props.label} aria-busy={props.busy} onKeyDown={onFieldKey}>
      <div className="handset-brand" aria-hidden="true">
        SEMOPS
      </div>
      <div className="lcd">{props.screen}</div>
      <div className="soft-keys">
        <button
          type="button"
          className="hkey hkey-green"
          aria-label="Send"
          title="Call / send (Enter)"
          onClick={props.onSend}
          disabled={off || props.busy}
        >
          <span aria-hidden="true">✆</span>
        </button>
        <button
          type="button"
          className="hkey hkey-clear"
          aria-label="Delete"
          title="Delete (Backspace)"
          onClick={props.onDelete}
          disabled={off}
        >
          <span aria-hidden="true">C</span>
        </button>
        <button
          type="button"
          className="hkey hkey-red"
          aria-label="End"
          title="End (Escape)"
          onClick={props.onEnd}
          disabled={off}
        >
          <span aria-hidden="true">✕</span>
        </button>
      </div>
      <div className="hkeys">
        {KEYS.map((k) => (
          <button
            key={k}
            type="button"
            className="hkey"
            aria-label={k}
            onClick={() => props.onKey(k)}
            disabled={off || props.busy}
          >
            <span className="hkey-main" aria-hidden="true">
              {k}
            </span>
            <span className="hkey-sub" aria-hidden="true">
              {subLabel(k, props.letters)}
            </span>
          </button>
        ))}
      </div>
    </section>
  );
}

function subLabel(k: string, letters: boolean): string {
  if (!letters) return k === '0' ? '+' : '';
  if (k === '*') return 'space';
  if (k === '#') return 'ABC/123';
  if (k === '0') return '␣';
  if (k === '1') return '.,?!';
  return (KEY_LETTERS[k] ?? '').replace(/\d/g, '');
}
