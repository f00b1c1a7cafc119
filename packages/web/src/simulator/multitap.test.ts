import { describe, expect, it } from 'vitest';
import { TAP_PAUSE_MS, settle, tap, type TapState } from './multitap';

function press(keys: string, start: TapState = { text: '', mode: 'ABC' }, gap = 100): TapState {
  let s = start;
  let t = 0;
  for (const k of keys) {
    if (k === '_') {
      t += TAP_PAUSE_MS + 1;
      continue;
    }
    s = tap(s, k, t, 160);
    t += gap;
  }
  return s;
}

describe('multi-tap keypad', () => {
  it('cycles the letters of a key, and a pause or another key confirms one', () => {
    expect(press('22_2555').text).toBe('BAL');
    expect(press('2222').text).toBe('2');
    expect(press('22222').text).toBe('A');
    expect(press('7777').text).toBe('S');
  });

  it('types digits in 123 mode, switched with #, and spaces with *', () => {
    expect(press('7_2999#*2020000171').text).toBe('PAY 2020000171');
    expect(press('##2').text).toBe('A');
  });

  it('stops at the maximum length without losing the pending letter', () => {
    let s: TapState = { text: 'x'.repeat(159), mode: 'ABC' };
    s = tap(s, '2', 0, 160);
    s = tap(s, '3', 50, 160);
    expect(s.text).toBe(`${'x'.repeat(159)}A`);
    expect(settle(s).pending).toBeUndefined();
  });

  it('ignores keys that are not on the pad', () => {
    const s = { text: 'AB', mode: 'ABC' as const };
    expect(tap(s, 'q', 0, 160)).toBe(s);
  });
});
