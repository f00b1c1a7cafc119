/**
 * SMS on the simulated phone: compose a text (multi-tap on the pad, or the keyboard), send it to the
 * SEMOPS short number, and read the replies in the inbox, newest first.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { messageOf } from '../shared/api';
import { showTime } from '../shared/money';
import { simulatorApi, type InboxMessage } from './api';
import { Handset } from './Handset';
import { TAP_PAUSE_MS, settle, tap, type TapState } from './multitap';

const MAX_TEXT = 160;
const POLL_MS = 5000;

export function SmsPhone(props: {
  phone: string;
  smsNumber: string;
  processorName: (id: string) => string;
  onError: (message: string | undefined) => void;
}) {
  const { phone, onError } = props;
  const [draft, setDraft] = useState<TapState>({ text: '', mode: 'ABC' });
  const [busy, setBusy] = useState(false);
  /** The reply to the last text sent, shown on the screen until the customer types again. */
  const [popup, setPopup] = useState<string>();
  const [inbox, setInbox] = useState<InboxMessage[]>();
  const field = useRef<HTMLTextAreaElement>(null);

  const refresh = useCallback(async () => {
    try {
      const r = await simulatorApi.inbox(phone);
      setInbox(r.messages);
    } catch (e) {
      onError(messageOf(e));
    }
  }, [phone, onError]);

  // The inbox of this number, now and every few seconds while the page is visible.
  useEffect(() => {
    setInbox(undefined);
    setPopup(undefined);
    void refresh();
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, POLL_MS);
    return () => clearInterval(t);
  }, [refresh]);

  // A letter being cycled on a key is confirmed after a pause.
  useEffect(() => {
    if (!draft.pending) return;
    const t = setTimeout(() => setDraft(settle), TAP_PAUSE_MS);
    return () => clearTimeout(t);
  }, [draft]);

  function edit(next: (d: TapState) => TapState) {
    setPopup(undefined);
    setDraft(next);
  }

  async function send() {
    const text = draft.text.trim();
    if (busy) return;
    if (text === '') {
      setPopup('Type a message first.');
      return;
    }
    const typing = document.activeElement === field.current;
    setBusy(true);
    onError(undefined);
    try {
      const r = await simulatorApi.sms(phone, text);
      setDraft((d) => ({ text: '', mode: d.mode }));
      setPopup(r.replies.length > 0 ? r.replies.join('\n\n') : 'Message sent.');
      await refresh();
    } catch (e) {
      onError(messageOf(e));
    } finally {
      setBusy(false);
    }
    if (typing) field.current?.focus();
  }

  const length = [...draft.text].length;
  return (
    <>
      <Handset
        label="Phone, SMS"
        letters
        busy={busy}
        onKey={(k) => edit((d) => tap(d, k, Date.now(), MAX_TEXT))}
        onType={(ch) =>
          edit((d) => {
            const s = settle(d);
            return [...s.text].length < MAX_TEXT ? { ...s, text: s.text + ch } : s;
          })
        }
        onSend={() => void send()}
        onEnd={() => edit((d) => ({ text: '', mode: d.mode }))}
        onDelete={() => edit((d) => ({ text: [...settle(d).text].slice(0, -1).join(''), mode: d.mode }))}
        screen={
          <>
            <div className="lcd-bar">
              <span>SMS to {props.smsNumber}</span>
              <span aria-label={`Typing mode ${draft.mode}`}>{draft.mode}</span>
            </div>
            {popup !== undefined ? (
              <pre className="lcd-text lcd-popup" data-testid="sms-popup" role="status" aria-live="polite">
                {busy ? 'Sending…' : popup}
              </pre>
            ) : busy ? (
              <pre className="lcd-text" role="status">
                Sending…
              </pre>
            ) : null}
            <label className="lcd-field">
              <span>Message</span>
              <textarea
                ref={field}
                value={draft.text}
                onChange={(e) =>
                  edit((d) => ({ text: [...e.target.value].slice(0, MAX_TEXT).join(''), mode: d.mode }))
                }
                rows={popup !== undefined ? 2 : 4}
                autoComplete="off"
                spellCheck={false}
                readOnly={busy}
                placeholder="SEND <phone> <amount>, PAY <code>, BAL, MINI, HELP"
              />
            </label>
            <p className="lcd-hint">
              {length}/{MAX_TEXT} · green sends
            </p>
          </>
        }
      />
      <section className="card inbox" aria-labelledby="inbox-title">
        <div className="card-title-row">
          <h2 id="inbox-title">Inbox</h2>
          <button type="button" className="button link inbox-refresh" onClick={() => void refresh()}>
            Refresh
          </button>
        </div>
        {inbox === undefined ? (
          <p className="muted">Loading…</p>
        ) : inbox.length === 0 ? (
          <p className="muted">No messages to {phone} yet.</p>
        ) : (
          <ol className="sms-list" data-testid="sms-inbox" aria-live="polite">
            {inbox.map((m) => (
              <li key={m.id}>
                <div className="sms-meta">
                  <strong>{m.from}</strong>
                  <span>
                    {props.processorName(m.processorId)} ·{' '}
                    <time dateTime={new Date(m.createdAt).toISOString()}>{showTime(m.createdAt)}</time>
                  </span>
                </div>
                <p className="sms-text">{m.text}</p>
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}
