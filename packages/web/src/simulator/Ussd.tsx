/**
 * USSD on the simulated phone: dial the service code (`*384#`) to open a session, read each `CON` screen,
 * type a choice and send; an `END` screen closes the session. The simulator server plays the gateway, so
 * the page sends only what the customer typed on this step.
 */
import { useEffect, useRef, useState } from 'react';
import { messageOf } from '../shared/api';
import { newSessionId, simulatorApi } from './api';
import { Handset } from './Handset';

type Phase = 'idle' | 'busy' | 'open' | 'ended';

const MAX_DIAL = 32;
const MAX_REPLY = 20;
/** What a phone dials for USSD: a code that starts with `*` and ends with `#`. */
const USSD_CODE = /^\*[0-9*]+#$/;

export function UssdPhone(props: {
  phone: string;
  serviceCode: string;
  /** The name of the processor that serves the phone, when known. */
  processorName: string | undefined;
  onError: (message: string | undefined) => void;
}) {
  const { phone, serviceCode, onError } = props;
  const [phase, setPhase] = useState<Phase>('idle');
  const [session, setSession] = useState<string>();
  const [screen, setScreen] = useState(`Dial ${serviceCode}\nand press the green key.`);
  const [input, setInput] = useState('');
  const field = useRef<HTMLInputElement>(null);
  const inSession = session !== undefined;
  const max = inSession ? MAX_REPLY : MAX_DIAL;

  // A new number is another phone: its session (if any) is not this one.
  useEffect(() => {
    setPhase('idle');
    setSession(undefined);
    setInput('');
    setScreen(`Dial ${serviceCode}\nand press the green key.`);
  }, [phone, serviceCode]);

  function type(text: string) {
    setInput((v) => (v + text).slice(0, max));
  }

  async function send() {
    if (phase === 'busy') return;
    const text = input.trim();
    if (text === '') {
      field.current?.focus();
      return;
    }
    if (!inSession && !USSD_CODE.test(text)) {
      setScreen(`Calls are not simulated.\nDial ${serviceCode} for SEMOPS.`);
      setPhase('ended');
      setInput('');
      return;
    }
    const id = session ?? newSessionId();
    // Typing on the keyboard goes on in the field; on-screen keys keep the focus where it is.
    const typing = document.activeElement === field.current;
    setPhase('busy');
    onError(undefined);
    try {
      const a = await simulatorApi.ussd(id, phone, text);
      setInput('');
      setScreen(a.text);
      if (a.status === 'CON') {
        setSession(id);
        setPhase('open');
      } else {
        setSession(undefined);
        setPhase('ended');
      }
    } catch (e) {
      setSession(undefined);
      setPhase('ended');
      setScreen('USSD error.\nThe session has ended.');
      onError(messageOf(e));
    }
    if (typing) field.current?.focus();
  }

  function end() {
    if (inSession) {
      setSession(undefined);
      setPhase('ended');
      setScreen('Session ended.');
    } else {
      setPhase('idle');
      setScreen(`Dial ${serviceCode}\nand press the green key.`);
    }
    setInput('');
  }

  const status =
    phase === 'busy'
      ? 'USSD code running…'
      : phase === 'open'
        ? 'Reply, then press the green key. Red ends.'
        : phase === 'ended'
          ? 'Session closed. Dial again to start over.'
          : '';

  return (
    <Handset
      label="Phone, USSD"
      letters={false}
      busy={phase === 'busy'}
      onKey={type}
      onType={(ch) => {
        if (/[0-9+]/.test(ch)) type(ch);
      }}
      onSend={() => void send()}
      onEnd={end}
      onDelete={() => setInput((v) => v.slice(0, -1))}
      screen={
        <>
          <div className="lcd-bar">
            <span>USSD</span>
            <span>{props.processorName ?? ''}</span>
          </div>
          <pre
            className="lcd-text"
            data-testid="ussd-screen"
            data-state={phase}
            role="status"
            aria-live="polite"
          >
            {phase === 'busy' ? 'USSD code running…' : screen}
          </pre>
          <label className="lcd-field">
            <span>{inSession ? 'Reply' : 'Number to dial'}</span>
            <input
              ref={field}
              value={input}
              onChange={(e) => setInput(e.target.value.replace(/[^0-9*#+.,]/g, '').slice(0, max))}
              inputMode="tel"
              autoComplete="off"
              spellCheck={false}
              readOnly={phase === 'busy'}
              placeholder={inSession ? 'choice' : serviceCode}
            />
          </label>
          <p className="lcd-hint">{status}</p>
        </>
      }
    />
  );
}
