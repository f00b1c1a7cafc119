import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHECKOUT_SCRIPT_URL } from './index.js';

describe('checkout button script', () => {
  const source = readFileSync(CHECKOUT_SCRIPT_URL, 'utf8');

  it('stays small and self-contained: under 10 KB, no imports, no build step', () => {
    expect(Buffer.byteLength(source)).toBeLessThan(10 * 1024);
    expect(source).not.toMatch(/^\s*import\s/m);
    expect(source).toMatch(/^export async function startCheckout\(button\)/m);
  });

  it('never puts server data into the page as HTML', () => {
    // Only the constant dialog template is HTML; everything from the shop goes in as text or attributes.
    expect(source.match(/innerHTML/g)).toEqual(['innerHTML']);
    expect(source).toContain('root.innerHTML = TEMPLATE;');
    expect(source).not.toMatch(/insertAdjacentHTML|outerHTML|document\.write/);
  });
});
