import { describe, expect, it } from 'vitest';
import { countMoney, moneyProblems, type ProcessorBooks } from './money.js';

/** Books from `kind → balance` (credits − debits), all in one currency unless a kind says `kind:CUR`. */
function books(processorId: string, kinds: Record<string, bigint>): ProcessorBooks {
  return {
    processorId,
    byKind: Object.entries(kinds).map(([k, balance]) => {
      const [kind, currency = 'EUR'] = k.split(':');
      return { kind: kind!, currency, balance: balance.toString() };
    }),
  };
}

describe('money held against money deposited', () => {
  // 100.00 deposited at bank-a; its customer paid 40.00 to an mno-b merchant (not yet settled), MSC 0.40.
  const paid = [
    books('bank-a', { funding: -100_00n, customer: 60_00n, settlement: 40_00n }),
    books('mno-b', { settlement: -40_00n, merchant: 39_60n, fees: 40n }),
  ];

  it('a payment between processors moves money and creates none', () => {
    expect(countMoney(paid)).toEqual([{ currency: 'EUR', deposited: 100_00n, held: 100_00n }]);
    expect(moneyProblems(paid)).toEqual([]);
  });

  it('the payee crediting its merchant twice for one transfer is money created', () => {
    const twice = [paid[0]!, books('mno-b', { settlement: -80_00n, merchant: 79_20n, fees: 80n })];
    expect(moneyProblems(twice)).toEqual(['EUR: 4000 created (held 14000, deposited 10000)']);
  });

  it('a payment the payer debited and the payee never credited is money lost', () => {
    const never = [paid[0]!, books('mno-b', {})];
    expect(moneyProblems(never)).toEqual(['EUR: 4000 lost (held 6000, deposited 10000)']);
  });

  it('money in an account the summary does not list is reported, not counted away', () => {
    const hidden = [books('bank-a', { funding: -100_00n, customer: 60_00n }), books('mno-b', {})];
    expect(moneyProblems(hidden)).toEqual([
      'bank-a EUR: its accounts by kind sum to -4000, not 0 (an unlisted account)',
      'EUR: 4000 lost (held 6000, deposited 10000)',
    ]);
  });

  it('counts each currency on its own: a conversion moves money between the fx accounts, not across currencies', () => {
    // A HUF customer paid 10.00 EUR: 4044.13 HUF to fx / fxmargin / fees, 10.00 EUR from fx:EUR to mno-b.
    const converted = [
      books('bank-c', {
        'funding:HUF': -100_000_00n,
        'customer:HUF': 95_955_87n,
        'fx:HUF': 3_924_50n,
        'fxmargin:HUF': 19_63n,
        'fees:HUF': 100_00n,
        'fx:EUR': -10_00n,
        'settlement:EUR': 10_00n,
      }),
      books('mno-b', { 'settlement:EUR': -10_00n, 'merchant:EUR': 10_00n }),
    ];
    expect(countMoney(converted)).toEqual([
      { currency: 'EUR', deposited: 0n, held: 0n },
      { currency: 'HUF', deposited: 100_000_00n, held: 100_000_00n },
    ]);
    expect(moneyProblems(converted)).toEqual([]);
  });
});
