import { describe, expect, it } from 'vitest';
import { aggregate, feeLines, imbalances, instructions, toCsv, toWire, type WindowReport } from './report.js';
import { parseInterval } from './interval.js';
import type { WindowTransfer } from './store.js';

let n = 0;
const t = (
  payer: string,
  payee: string,
  amount: bigint,
  currency: string,
  fees?: { msc: bigint; interchange: bigint },
  fxMargin?: { value: bigint; currency: string },
  fxFee?: { value: bigint; currency: string },
): WindowTransfer => ({
  transferId: `pay_${++n}`,
  payer,
  payee,
  amount,
  currency,
  msc: fees?.msc ?? 0n,
  interchange: fees?.interchange ?? 0n,
  hasFees: fees !== undefined,
  ...(fxMargin === undefined ? {} : { fxMargin }),
  ...(fxFee === undefined ? {} : { fxFee }),
  committedAt: n,
});

// The three payments of the worked example in docs/settlement.md (bank-c's conversion fee: 100.00 HUF).
const example = [
  t(
    'bank-c',
    'mno-b',
    1000n,
    'EUR',
    { msc: 10n, interchange: 2n },
    { value: 1963n, currency: 'HUF' },
    { value: 10_000n, currency: 'HUF' },
  ),
  t('mno-b', 'bank-c', 500_000n, 'HUF', { msc: 5000n, interchange: 1000n }, { value: 6n, currency: 'EUR' }),
  t('bank-a', 'mno-b', 2000n, 'EUR', { msc: 20n, interchange: 4n }),
];

describe('settlement report', () => {
  it('nets the worked example per currency and processor, summing to zero', () => {
    const lines = aggregate(example);
    expect(lines.map((l) => [l.currency, l.processorId, l.net, l.transfers])).toEqual([
      ['EUR', 'bank-a', -1996n, 1],
      ['EUR', 'bank-c', -998n, 1],
      ['EUR', 'mno-b', 2994n, 2],
      ['HUF', 'bank-c', 499_000n, 1],
      ['HUF', 'mno-b', -499_000n, 1],
    ]);
    expect(toWire(lines.find((l) => l.processorId === 'mno-b' && l.currency === 'EUR')!)).toEqual({
      currency: 'EUR',
      processorId: 'mno-b',
      sent: '0',
      received: '3000',
      interchangePaid: '6',
      interchangeReceived: '0',
      msc: '30',
      fxMargin: '6',
      fxFee: '0',
      transfers: 2,
      net: '2994',
    });
    // bank-c's FX margin and conversion fee are in its customers' currency; it did not send HUF, but
    // received it. Neither is part of any net.
    expect(lines.find((l) => l.processorId === 'bank-c' && l.currency === 'HUF')).toMatchObject({
      fxMargin: 1963n,
      fxFee: 10_000n,
      net: 499_000n,
      received: 500_000n,
      interchangePaid: 1000n,
      msc: 5000n,
    });
    expect(imbalances(lines).size).toBe(0);
  });

  it('says who pays whom: payers to receivers, largest first, as few movements as the greedy match gives', () => {
    expect(instructions(aggregate(example))).toEqual([
      { currency: 'EUR', from: 'bank-a', to: 'mno-b', amount: '1996' },
      { currency: 'EUR', from: 'bank-c', to: 'mno-b', amount: '998' },
      { currency: 'HUF', from: 'mno-b', to: 'bank-c', amount: '499000' },
    ]);
    const many = aggregate([
      t('p1', 'r1', 500n, 'EUR'),
      t('p2', 'r2', 300n, 'EUR'),
      t('p2', 'r1', 100n, 'EUR'),
      t('r2', 'p1', 50n, 'EUR'),
    ]);
    const ins = instructions(many);
    // Every processor's instructions add up to its net.
    for (const l of many) {
      const paid = ins.filter((i) => i.from === l.processorId).reduce((s, i) => s + BigInt(i.amount), 0n);
      const got = ins.filter((i) => i.to === l.processorId).reduce((s, i) => s + BigInt(i.amount), 0n);
      expect(got - paid).toBe(l.net);
    }
    expect(ins.length).toBeLessThanOrEqual(3);
  });

  it('lists the fees of each transfer that has any: MSC, interchange, FX margin, conversion fee', () => {
    const plain = t('bank-a', 'mno-b', 300n, 'EUR');
    const fxOnly = t('bank-c', 'bank-a', 400n, 'EUR', undefined, { value: 7n, currency: 'HUF' });
    const [p1, p2, p3] = example;
    expect(feeLines([...example, plain, fxOnly])).toEqual([
      {
        transferId: p1!.transferId,
        payer: 'bank-c',
        payee: 'mno-b',
        amount: { value: '1000', currency: 'EUR' },
        msc: '10',
        interchange: '2',
        fxMargin: { value: '1963', currency: 'HUF' },
        fxFee: { value: '10000', currency: 'HUF' },
      },
      {
        transferId: p2!.transferId,
        payer: 'mno-b',
        payee: 'bank-c',
        amount: { value: '500000', currency: 'HUF' },
        msc: '5000',
        interchange: '1000',
        fxMargin: { value: '6', currency: 'EUR' },
      },
      {
        transferId: p3!.transferId,
        payer: 'bank-a',
        payee: 'mno-b',
        amount: { value: '2000', currency: 'EUR' },
        msc: '20',
        interchange: '4',
      },
      {
        transferId: fxOnly.transferId,
        payer: 'bank-c',
        payee: 'bank-a',
        amount: { value: '400', currency: 'EUR' },
        msc: '0',
        interchange: '0',
        fxMargin: { value: '7', currency: 'HUF' },
      },
    ]);
  });

  it('finds a report that does not sum to zero', () => {
    const lines = aggregate(example).map((l) =>
      l.currency === 'HUF' && l.net > 0n ? { ...l, net: l.net + 1n } : l,
    );
    expect(imbalances(lines)).toEqual(new Map([['HUF', 1n]]));
  });

  it('writes CSV: a header and one row per currency and processor', () => {
    const lines = aggregate(example);
    const report = { windowId: 'win_X', positions: lines.map(toWire) } as unknown as WindowReport;
    expect(toCsv(report).split('\n')).toEqual([
      'windowId,currency,processorId,sent,received,interchangePaid,interchangeReceived,msc,fxMargin,fxFee,transfers,net',
      'win_X,EUR,bank-a,2000,0,0,4,0,0,0,1,-1996',
      'win_X,EUR,bank-c,1000,0,0,2,0,0,0,1,-998',
      'win_X,EUR,mno-b,0,3000,6,0,30,6,0,2,2994',
      'win_X,HUF,bank-c,0,500000,1000,0,5000,1963,10000,1,499000',
      'win_X,HUF,mno-b,500000,0,0,1000,0,0,0,1,-499000',
      '',
    ]);
  });
});

describe('settlement interval', () => {
  it('reads 90s, 15m, 1h, 1d and refuses anything else', () => {
    expect(parseInterval('90s')).toBe(90_000);
    expect(parseInterval('15m')).toBe(900_000);
    expect(parseInterval('1h')).toBe(3_600_000);
    expect(parseInterval('1d')).toBe(86_400_000);
    for (const bad of ['', '0s', '1', '1.5h', '-1h', '1w', '8d', '1 h', 'h', '500ms']) {
      expect(parseInterval(bad), bad).toBeUndefined();
    }
  });
});
