/**
 * Multi-tap typing, as on a feature phone's 12-key pad: in ABC mode pressing `2` once gives `A`, twice `B`,
 * three times `C`, four times `2`; a pause (or another key) confirms the letter. In 123 mode keys type their
 * digit. `*` types a space and `#` switches between the modes.
 */

export type TapMode = 'ABC' | '123';

/** The letters under each key, in the order taps cycle through them (the digit comes last). */
export const KEY_LETTERS: Readonly<Record<string, string>> = {
  '1': '.,?!1',
  '2': 'ABC2',
  '3': 'DEF3',
  '4': 'GHI4',
  '5': 'JKL5',
  '6': 'MNO6',
  '7': 'PQRS7',
  '8': 'TUV8',
  '9': 'WXYZ9',
  '0': ' 0',
};

/** How long a key may rest before its letter is confirmed. */
export const TAP_PAUSE_MS = 900;

export interface TapState {
  readonly text: string;
  readonly mode: TapMode;
  /** The key being cycled and when it was last pressed; the last character of `text` is its letter. */
  readonly pending?: { readonly key: string; readonly index: number; readonly at: number };
}

/** The state after pressing `key` (`0`–`9`, `*`, `#`) at time `now`, with the text clipped to `max` characters. */
export function tap(s: TapState, key: string, now: number, max: number): TapState {
  if (key === '#') return { text: s.text, mode: s.mode === 'ABC' ? '123' : 'ABC' };
  if (key === '*') return append(s, ' ', max);
  const letters = KEY_LETTERS[key];
  if (letters === undefined) return s;
  if (s.mode === '123') return append(s, key, max);
  const p = s.pending;
  if (p && p.key === key && now - p.at < TAP_PAUSE_MS) {
    const index = (p.index + 1) % letters.length;
    return { ...s, text: s.text.slice(0, -1) + letters[index]!, pending: { key, index, at: now } };
  }
  const next = append(s, letters[0]!, max);
  return next.text === s.text ? next : { ...next, pending: { key, index: 0, at: now } };
}

/** Confirms the letter being cycled (a pause, a typed character, a cursor move). */
export function settle(s: TapState): TapState {
  return s.pending ? { text: s.text, mode: s.mode } : s;
}

function append(s: TapState, ch: string, max: number): TapState {
  if ([...s.text].length >= max) return settle(s);
  return { text: s.text + ch, mode: s.mode };
}
