/**
 * reconcileWindow against stand-ins for the hub and two processors (real HTTP, the admin API of
 * docs/settlement.md): which window it picks, what each processor is asked, which differences it keeps.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SemopsError, newId } from '@semops/protocol';
import type { ReportPosition, SettlementWindow, WindowTransfer } from './clients-settlement.js';
import { checkHubReport, pickWindow, reconcileWindow, type ReconcileTargets } from './reconcile.js';
import { errorReply, startStubNode, type StubNode, type StubReply } from './testing/stub-node.js';

const W1 = newId('win', 1_000);
const W2 = newId('win', 2_000);
const W3 = newId('win', 3_000);
const T1 = newId('pay'); // bank-c → mno-b 10.00 EUR, interchange 0.02 EUR back to bank-c
const T2 = newId('pay'); // mno-b → bank-c 5000.00 HUF, interchange 10.00 HUF back to mno-b
const T3 = newId('pay'); // bank-a → mno-b 20.00 EUR, interchange 0.04 EUR
const LATE = newId('pay'); // committed at the hub in the next window
const SAME = newId('pay'); // the hub has it in this window (but did not list it)
const GHOST = newId('pay'); // unknown at the hub

const WINDOWS: SettlementWindow[] = [
  { windowId: W1, state: 'CLOSED', openedAt: 0, closedAt: 1_000, transfers: 1 },
  { windowId: W2, state: 'CLOSED', openedAt: 1_000, closedAt: 2_000, transfers: 3 },
  { windowId: W3, state: 'OPEN', openedAt: 2_000, transfers: 1 },
];

const TRANSFERS: WindowTransfer[] = [
  {
    transferId: T1,
    payer: 'bank-c',
    payee: 'mno-b',
    amount: { value: '1000', currency: 'EUR' },
    fees: { msc: '10', interchange: '2' },
    committedAt: 1_100,
  },
  {
    transferId: T2,
    payer: 'mno-b',
    payee: 'bank-c',
    amount: { value: '500000', currency: 'HUF' },
    fees: { msc: '5000', interchange: '1000' },
    committedAt: 1_200,
  },
  {
    transferId: T3,
    payer: 'bank-a',
    payee: 'mno-b',
    amount: { value: '2000', currency: 'EUR' },
    fees: { msc: '20', interchange: '4' },
    committedAt: 1_300,
  },
];

/** The worked example of docs/settlement.md: the nets each processor must pay or receive. */
const NETS: Array<[string, string, string]> = [
  ['bank-a', 'EUR', '-1996'],
  ['bank-c', 'EUR', '-998'],
  ['mno-b', 'EUR', '2994'],
  ['bank-c', 'HUF', '499000'],
  ['mno-b', 'HUF', '-499000'],
];

function position(processorId: string, currency: string, net: string): ReportPosition {
  return {
    processorId,
    currency,
    net,
    sent: '0',
    received: '0',
    interchangePaid: '0',
    interchangeReceived: '0',
    msc: '0',
    fxMargin: '0',
    fxFee: '0',
    transfers: 1,
  };
}

let hub: StubNode;
const processors: Record<string, StubNode> = {};
/** What each processor answers to POST /v1/admin/reconcile. */
let answers: Record<string, StubReply>;
let report: ReportPosition[];
let transfers: WindowTransfer[];

function targets(ids = ['bank-a', 'bank-c', 'mno-b']): ReconcileTargets {
  return {
    hub: { url: hub.url, adminToken: hub.token },
    processors: ids.map((id) => ({ id, url: processors[id]!.url, adminToken: processors[id]!.token })),
  };
}

beforeAll(async () => {
  hub = await startStubNode('hub-token', (r) => {
    if (r.method === 'GET' && r.path === '/v1/admin/settlement/windows')
      return { body: { windows: WINDOWS } };
    const m = /^\/v1\/admin\/settlement\/windows\/([^/]+)\/(report|transfers)$/.exec(r.path);
    if (m && r.method === 'GET') {
      const w = WINDOWS.find((x) => x.windowId === m[1]);
      if (!w) return errorReply(404, 'WINDOW_NOT_FOUND');
      const list = w.windowId === W2 ? transfers : [];
      if (m[2] === 'transfers') return { body: { transfers: list } };
      const positions = w.windowId === W2 ? report : [];
      return { body: { ...w, currencies: [], positions, instructions: [], fees: [] } };
    }
    const t = /^\/v1\/admin\/transfers\/(.+)$/.exec(r.path);
    if (t && r.method === 'GET') {
      const where: Record<string, string> = { [LATE]: W3, [SAME]: W2 };
      const windowId = where[t[1] ?? ''];
      if (!windowId) return errorReply(404, 'TRANSFER_NOT_FOUND');
      return {
        body: {
          transferId: t[1],
          payer: 'bank-c',
          payee: 'mno-b',
          amount: { value: '1', currency: 'EUR' },
          state: 'COMMITTED',
          windowId,
        },
      };
    }
    return undefined;
  });
  for (const id of ['bank-a', 'bank-c', 'mno-b']) {
    processors[id] = await startStubNode(`${id}-token`, (r) =>
      r.method === 'POST' && r.path === '/v1/admin/reconcile' ? answers[id] : undefined,
    );
  }
});

afterAll(async () => {
  await Promise.all([hub, ...Object.values(processors)].map((n) => n.close()));
});

beforeEach(() => {
  for (const n of [hub, ...Object.values(processors)]) n.seen.length = 0;
  report = NETS.map(([pid, cur, net]) => position(pid, cur, net));
  transfers = TRANSFERS;
  answers = Object.fromEntries(
    ['bank-a', 'bank-c', 'mno-b'].map((id) => [id, { body: { processorId: id, differences: [] } }]),
  );
});

describe('reconcileWindow', () => {
  it('reconciles the last closed window and asks each processor about its own transfers and positions', async () => {
    const r = await reconcileWindow(targets());
    expect(r).toEqual({
      windowId: W2,
      openedAt: 1_000,
      closedAt: 2_000,
      differences: [],
      checked: { transfers: 3, processors: 3 },
    });
    const asked = (id: string) => processors[id]!.seen.find((s) => s.path === '/v1/admin/reconcile');
    expect(asked('bank-a')?.authorization).toBe('Bearer bank-a-token');
    expect(asked('bank-a')?.body).toEqual({
      window: { windowId: W2, openedAt: 1_000, closedAt: 2_000 },
      transfers: [TRANSFERS[2]],
      positions: [{ currency: 'EUR', net: '-1996' }],
    });
    const c = asked('bank-c')?.body as { transfers: WindowTransfer[]; positions: unknown[] };
    expect(c.transfers.map((t) => t.transferId)).toEqual([T1, T2]);
    expect(c.positions).toEqual([
      { currency: 'EUR', net: '-998' },
      { currency: 'HUF', net: '499000' },
    ]);
  });

  it('drops missing_at_hub only when the hub committed that transfer in another window', async () => {
    const missing = (transferId: string) => ({
      kind: 'missing_at_hub',
      transferId,
      currency: 'EUR',
      actual: '1',
      message: `${transferId} is not in the hub's window`,
    });
    const other = { kind: 'ledger_missing', transferId: T1, currency: 'EUR', message: 'in:… is missing' };
    answers['mno-b'] = {
      body: { processorId: 'mno-b', differences: [missing(LATE), missing(SAME), missing(GHOST), other] },
    };
    const r = await reconcileWindow(targets(), W2);
    expect(r.differences.map((d) => [d.processorId, d.kind, d.transferId])).toEqual([
      ['mno-b', 'missing_at_hub', SAME],
      ['mno-b', 'missing_at_hub', GHOST],
      ['mno-b', 'ledger_missing', T1],
    ]);
    const looked = hub.seen.filter((s) => s.path.startsWith('/v1/admin/transfers/')).map((s) => s.path);
    expect(looked.sort()).toEqual([LATE, SAME, GHOST].map((id) => `/v1/admin/transfers/${id}`).sort());
  });

  it('reconciles an earlier window by id', async () => {
    const r = await reconcileWindow(targets(), W1);
    expect(r.windowId).toBe(W1);
    expect(r.checked.transfers).toBe(0);
    expect(r.differences).toEqual([]);
  });

  it('refuses an open window, an unknown window, and says when none is closed yet', async () => {
    await expect(reconcileWindow(targets(), W3)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('still open') as unknown,
    });
    await expect(reconcileWindow(targets(), newId('win'))).rejects.toMatchObject({
      code: 'WINDOW_NOT_FOUND',
    });
    expect(() => pickWindow([WINDOWS[2]!])).toThrow(SemopsError);
    expect(() => pickWindow([WINDOWS[2]!])).toThrow(/No settlement window has been closed yet/);
    expect(pickWindow([...WINDOWS].reverse()).windowId).toBe(W2);
  });

  it('lists a processor that cannot be asked, and one that answers under another id', async () => {
    answers['bank-a'] = errorReply(500, 'INTERNAL', 'boom');
    answers['bank-c'] = { body: { processorId: 'mno-b', differences: [] } };
    const r = await reconcileWindow(targets());
    expect(r.differences.map((d) => [d.processorId, d.kind])).toEqual([
      ['bank-a', 'processor_unreachable'],
      ['bank-c', 'processor_mismatch'],
    ]);
    expect(r.differences[0]?.message).toContain('INTERNAL: boom');
  });

  it('lists processors with transfers in the window that were not asked', async () => {
    const r = await reconcileWindow(targets(['bank-c', 'mno-b']));
    expect(r.differences.map((d) => [d.processorId, d.kind])).toEqual([['bank-a', 'processor_not_checked']]);
    expect(r.checked.processors).toBe(2);
  });

  it("checks the hub's report against the hub's own transfers", async () => {
    report = NETS.map(([pid, cur, net]) =>
      position(pid, cur, pid === 'mno-b' && cur === 'EUR' ? '2996' : net),
    );
    const r = await reconcileWindow(targets());
    expect(r.differences).toEqual([
      expect.objectContaining({
        processorId: 'hub',
        kind: 'report_unbalanced',
        currency: 'EUR',
        actual: '2',
      }),
      expect.objectContaining({
        processorId: 'hub',
        kind: 'report_mismatch',
        currency: 'EUR',
        expected: '2994',
        actual: '2996',
      }),
    ]);
  });
});

describe('checkHubReport', () => {
  it('accepts the worked example of docs/settlement.md', () => {
    expect(
      checkHubReport(
        TRANSFERS,
        NETS.map(([p, c, n]) => position(p, c, n)),
      ),
    ).toEqual([]);
  });

  it('finds a processor the report leaves out', () => {
    const d = checkHubReport(
      TRANSFERS,
      NETS.filter(([p, c]) => !(p === 'bank-a' && c === 'EUR')).map(([p, c, n]) => position(p, c, n)),
    );
    expect(d.map((x) => [x.kind, x.currency, x.expected, x.actual])).toEqual([
      ['report_unbalanced', 'EUR', '0', '1996'],
      ['report_mismatch', 'EUR', '-1996', '0'],
    ]);
    expect(d[1]?.message).toContain('bank-a');
  });
});
