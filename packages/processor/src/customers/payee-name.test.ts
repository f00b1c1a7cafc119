import { describe, expect, it } from 'vitest';
import { payeeName } from './service.js';

describe('payeeName: what a person paying a customer sees of their name', () => {
  it('shows the first name and the initial of the last by default', () => {
    expect(payeeName('Ben Otieno')).toBe('Ben O.');
    expect(payeeName('  lisa   maria huber ')).toBe('lisa H.');
    expect(payeeName('Ólafur Þórsson')).toBe('Ólafur Þ.');
    expect(payeeName('Madonna')).toBe('Madonna');
    expect(payeeName('Maximilianusbartholomaeus Z')).toBe('Maximilianusbartholo Z.');
    expect(payeeName('')).toBe('');
  });

  it('shows initials only when the processor allows no more', () => {
    expect(payeeName('Jane Mary Doe Smith', 'initials')).toBe('J*** M*** D***');
    expect(payeeName('ben otieno', 'initials')).toBe('B*** O***');
  });
});
