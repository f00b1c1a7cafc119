import { describe, expect, it } from 'vitest';
import { newId, type TransferPrepare } from '@semops/protocol';
import { computeFees, feesFor, matchFee, validateSchedule, type FeeEntry } from './schedule.js';

const entry = (over: Partial<FeeEntry> = {}): FeeEntry => ({
  payee: '*',
  currency: '*',
  mscBps: 100,
  mscFixed: '0',
  interchangeBps: 2000,
  ...over,
});

const purchase = (over: Partial<TransferPrepare> = {}): TransferPrepare => ({
  transferId: newId('pay'),
  requestId: newId('req'),
  payer: 'bank-a',
  payee: 'mno-b',
  amount: { value: '1000', currency: 'EUR' },
  expiresAt: Date.now() + 60_000,
  purpose: 'purchase',
  ...over,
});

const network = {
  currenciesOf: (id: string) => ({ 'bank-a': ['EUR'], 'mno-b': ['EUR', 'HUF'] })[id],
};

describe('fee schedule matching', () => {
  const schedule = [
    entry({ mscBps: 1 }),
    entry({ currency: 'HUF', mscBps: 2 }),
    entry({ payee: 'mno-b', mscBps: 3 }),
    entry({ payee: 'mno-b', currency: 'EUR', mscBps: 4 }),
  ];

  it('takes the most specific entry: (payee, currency) > (payee, *) > (*, currency) > (*, *)', () => {
    expect(matchFee(schedule, 'mno-b', 'EUR')?.mscBps).toBe(4);
    expect(matchFee(schedule, 'mno-b', 'HUF')?.mscBps).toBe(3);
    expect(matchFee(schedule, 'bank-a', 'HUF')?.mscBps).toBe(2);
    expect(matchFee(schedule, 'bank-a', 'EUR')?.mscBps).toBe(1);
    expect(matchFee(schedule.slice(1), 'bank-a', 'EUR')).toBeUndefined();
    expect(matchFee([], 'mno-b', 'EUR')).toBeUndefined();
  });

  it('applies to purchases only, never to refunds or person-to-person transfers', () => {
    const s = [entry()];
    expect(feesFor(s, purchase())).toEqual({ msc: 10n, interchange: 2n });
    expect(feesFor(s, purchase({ purpose: 'p2p' }))).toBeUndefined();
    expect(feesFor(s, purchase({ purpose: undefined }))).toBeUndefined();
    expect(feesFor(s, purchase({ refundOf: newId('pay') }))).toBeUndefined();
    expect(feesFor([], purchase())).toBeUndefined();
    // A charge that rounds to nothing is no fee.
    expect(feesFor(s, purchase({ amount: { value: '99', currency: 'EUR' } }))).toBeUndefined();
  });
});

describe('fee computation', () => {
  it('computes the worked example of docs/settlement.md (1.00 % MSC, 20 % of it as interchange)', () => {
    expect(computeFees(entry(), 1000n)).toEqual({ msc: 10n, interchange: 2n }); // 10.00 EUR
    expect(computeFees(entry(), 2000n)).toEqual({ msc: 20n, interchange: 4n }); // 20.00 EUR
    expect(computeFees(entry(), 500_000n)).toEqual({ msc: 5000n, interchange: 1000n }); // 5000.00 HUF
  });

  it('rounds the MSC down, adds the fixed part and never charges more than the amount', () => {
    expect(computeFees(entry({ mscBps: 150 }), 999n).msc).toBe(14n); // 14.985 → 14
    expect(computeFees(entry({ mscBps: 150, mscFixed: '25' }), 999n).msc).toBe(39n);
    expect(computeFees(entry({ mscBps: 0, mscFixed: '500' }), 300n).msc).toBe(300n);
    expect(computeFees(entry({ mscBps: 10_000 }), 777n).msc).toBe(777n);
    expect(computeFees(entry({ mscBps: 0 }), 777n)).toEqual({ msc: 0n, interchange: 0n });
  });

  it('splits the interchange out of the MSC by largest remainder, never more than the MSC', () => {
    // msc 7 at 2500 bps: exact 1.75 → payee 5.25, payer 1.75: the remaining unit goes to the larger remainder.
    expect(computeFees(entry({ mscBps: 700, interchangeBps: 2500 }), 100n)).toEqual({
      msc: 7n,
      interchange: 2n,
    });
    // A tie (exact halves) goes to the payee, the first part.
    expect(computeFees(entry({ mscBps: 300, interchangeBps: 5000 }), 100n)).toEqual({
      msc: 3n,
      interchange: 1n,
    });
    expect(computeFees(entry({ interchangeBps: 0 }), 1000n)).toEqual({ msc: 10n, interchange: 0n });
    expect(computeFees(entry({ interchangeBps: 10_000 }), 1000n)).toEqual({ msc: 10n, interchange: 10n });
    for (let a = 1n; a < 3000n; a += 7n) {
      const f = computeFees(entry({ mscBps: 137, mscFixed: '3', interchangeBps: 3333 }), a);
      expect(f.msc <= a && f.interchange <= f.msc && f.interchange >= 0n).toBe(true);
    }
  });
});

describe('fee schedule validation', () => {
  const issues = (entries: unknown) => {
    const r = validateSchedule({ entries }, network);
    return 'issues' in r ? r.issues : [];
  };

  it('accepts a good schedule and sorts it, wildcards first', () => {
    const r = validateSchedule(
      { entries: [entry({ payee: 'mno-b', currency: 'HUF', mscFixed: '10000' }), entry()] },
      network,
    );
    expect(r).toEqual({ entries: [entry(), entry({ payee: 'mno-b', currency: 'HUF', mscFixed: '10000' })] });
    expect(validateSchedule({ entries: [] }, network)).toEqual({ entries: [] });
  });

  it('lists every problem with where it is', () => {
    expect(issues([entry(), entry({ mscBps: 50 })])).toEqual([
      { path: 'entries.1', message: 'duplicate of entries.0 (payee *, currency *); keep one' },
    ]);
    expect(issues([entry({ payee: 'bank-z' }), entry({ payee: 'bank-a', currency: 'HUF' })])).toEqual([
      { path: 'entries.0.payee', message: 'bank-z is not a registered processor' },
      { path: 'entries.1.currency', message: 'bank-a does not clear HUF' },
    ]);
    expect(issues([entry({ mscFixed: '5' })])[0]?.path).toBe('entries.0.mscFixed');
    for (const bad of [
      { mscBps: 10_001 },
      { mscBps: -1 },
      { mscBps: 1.5 },
      { interchangeBps: 20_000 },
      { mscFixed: '-1' },
      { mscFixed: '1.5' },
      { mscFixed: 5 },
      { currency: 'XXX' },
      { currency: 'eur' },
      { payee: 'Bank A' },
    ]) {
      expect(issues([{ ...entry(), ...bad }]).length, JSON.stringify(bad)).toBeGreaterThan(0);
    }
    expect(issues([{ ...entry(), extra: 1 }]).length).toBeGreaterThan(0);
    expect(validateSchedule({}, network)).toMatchObject({ issues: [{ path: 'entries' }] });
    expect(validateSchedule(null, network)).toMatchObject({ issues: [{ path: 'body' }] });
  });
});
