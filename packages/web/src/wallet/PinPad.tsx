/** The on-screen PIN pad: large keys, dots for digits typed, and the physical keyboard works too. */
import { useCallback, useEffect, useState } from 'react';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
const MIN = 4;
const MAX = 6;

export function PinPad(props: {
  title: string;
  busy?: boolean;
  onSubmit: (pin: string) => void;
  onCancel: () => void;
}) {
  const [pin, setPin] = useState('');
  const { busy, onSubmit } = props;

  const press = useCallback(
    (d: string) => {
      if (!busy) setPin((p) => (p.length < MAX ? p + d : p));
    },
    [busy],
  );
  const back = useCallback(() => setPin((p) => p.slice(0, -1)), []);
  const submit = useCallback(() => {
    if (busy || pin.length < MIN) return;
    onSubmit(pin);
    setPin('');
  }, [busy, pin, onSubmit]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (/^\d$/.test(e.key)) press(e.key);
      else if (e.key === 'Backspace') back();
      else if (e.key === 'Enter') submit();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [press, back, submit]);

  return (
    <section className="pinpad" aria-label="PIN pad">
      <h2 className="pinpad-title">{props.title}</h2>
      <div
        className="pin-dots"
        role="status"
        aria-live="polite"
        aria-label={`${pin.length} of ${MIN} to ${MAX} PIN digits entered`}
        data-testid="pin-dots"
      >
        {Array.from({ length: Math.max(MIN, pin.length) }, (_, i) => (
          <span key={i} className={i < pin.length ? 'dot filled' : 'dot'} />
        ))}
      </div>
      <div className="keys">
        {KEYS.map((k) => (
          <button key={k} type="button" className="key" onClick={() => press(k)} disabled={busy}>
            {k}
          </button>
        ))}
        <button
          type="button"
          className="key key-muted"
          onClick={back}
          disabled={busy || pin.length === 0}
          aria-label="Delete last digit"
        >
          ⌫
        </button>
        <button type="button" className="key" onClick={() => press('0')} disabled={busy}>
          0
        </button>
        <button
          type="button"
          className="key key-ok"
          onClick={submit}
          disabled={busy || pin.length < MIN}
          aria-label="Confirm PIN"
        >
          OK
        </button>
      </div>
      <button type="button" className="button link" onClick={props.onCancel} disabled={busy}>
        Cancel
      </button>
    </section>
  );
}
