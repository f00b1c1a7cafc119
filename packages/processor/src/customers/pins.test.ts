import { describe, expect, it } from 'vitest';
import { createPinHasher } from './pins.js';

describe('PIN hashing', () => {
  it('is keyed and bound to the customer', () => {
    const a = createPinHasher('key-one');
    const b = createPinHasher('key-two');
    const h = a.hash('cus_1', '1234');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).not.toContain('1234');
    expect(a.matches('cus_1', '1234', h)).toBe(true);
    expect(a.matches('cus_1', '1235', h)).toBe(false);
    expect(a.matches('cus_2', '1234', h)).toBe(false);
    expect(b.matches('cus_1', '1234', h)).toBe(false);
    expect(a.matches('cus_1', '1234', 'zz')).toBe(false);
  });
});
