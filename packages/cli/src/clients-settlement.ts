/**
 * Operator clients for cross-border settlement (issue 5): the hub's fee schedule, settlement windows,
 * reports (JSON and CSV), window transfers and liquidity; a processor's exchange rates, FX configuration,
 * booked settlements and reconciliation. Every call needs the node's admin token. Amounts are minor-unit
 * strings as on the wire; the command line turns them into `12.50 EUR` for people.
 */
import { errorFromBody, type MoneyWire } from '@semops/protocol';
import { call, json, type CallOptions } from './http.js';
import type {
  FeeEntry,
  PositionLineWire,
  PositionView,
  WindowReport,
  WindowTransferView,
  WindowView,
} from '@semops/hub';

export type { FeeEntry };
/** A settlement window as the hub lists it. */
export type SettlementWindow = WindowView;
/** A transfer the hub committed in a window. */
export type WindowTransfer = WindowTransferView;
/** One processor's totals in one currency for a window; amounts are minor-unit strings, `net` signed. */
export type ReportPosition = PositionLineWire;
/** A window's multilateral net settlement report. */
export type SettlementReport = WindowReport;

/** The fees of one transfer, minor units of the transfer's currency. */
export interface TransferFeesView {
  readonly msc: string;
  readonly interchange: string;
}

/** The hub's operator view of one transfer. */
export interface HubTransferView {
  readonly transferId: string;
  readonly payer: string;
  readonly payee: string;
  readonly amount: MoneyWire;
  readonly state: string;
  readonly refundOf?: string;
  readonly reason?: string;
  /** The settlement window it was committed in (COMMITTED only). */
  readonly windowId?: string;
  readonly fees?: TransferFeesView;
  readonly createdAt?: number;
  readonly updatedAt?: number;
}

/** The positions of a report in a stable order: by currency, then processor. */
export function reportPositions(report: Pick<SettlementReport, 'positions'>): ReportPosition[] {
  return [...report.positions].sort(
    (a, b) => a.currency.localeCompare(b.currency) || a.processorId.localeCompare(b.processorId),
  );
}

/** A processor's exchange rate: 1 `base` = `rate` `quote` (a decimal string). */
export interface FxRateEntry {
  readonly base: string;
  readonly quote: string;
  readonly rate: string;
  /** Where it came from: the rates file or the operator. */
  readonly source?: string;
}

export interface FxSettings {
  readonly rates: readonly FxRateEntry[];
  readonly spreadBps: number;
  /** Fixed fee per customer currency, minor units. */
  readonly feeFixed: Readonly<Record<string, string>>;
  readonly quoteTtlMs: number;
  readonly ratesFile?: string;
  readonly loadedAt?: number;
  /** Why the rates file last failed to load (the rates in force were kept). */
  readonly ratesFileError?: string;
}

export interface FxConfigChange {
  readonly spreadBps?: number;
  readonly feeFixed?: Readonly<Record<string, string>>;
  readonly quoteTtlMs?: number;
}

/** A settlement a processor booked on the hub's notice. */
export interface BookedSettlement {
  readonly windowId: string;
  readonly openedAt: number;
  readonly closedAt: number;
  readonly positions: ReadonlyArray<{ readonly currency: string; readonly net: string }>;
  readonly bookedAt: number;
}

/** One difference between the hub's view of a window and a processor's ledger. */
export interface ProcessorDifference {
  readonly kind: string;
  readonly transferId?: string;
  readonly currency?: string;
  readonly expected?: string;
  readonly actual?: string;
  readonly message: string;
}

export interface ReconcileRequest {
  readonly window: { readonly windowId: string; readonly openedAt: number; readonly closedAt: number };
  readonly transfers: readonly WindowTransfer[];
  readonly positions?: ReadonlyArray<{ readonly currency: string; readonly net: string }>;
}

export interface ReconcileAnswer {
  readonly processorId: string;
  readonly differences: readonly ProcessorDifference[];
}

/** GETs a text body (CSV); a non-2xx answer throws the typed error. */
async function text(url: string, opts: CallOptions): Promise<string> {
  const r = await call<unknown>('GET', url, opts);
  if (r.status < 200 || r.status >= 300) throw errorFromBody(r.body, r.status);
  if (r.body === undefined) return '';
  return typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
}

/** The hub's settlement operator API. */
export class SettlementAdmin {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}
  private call<T>(method: string, path: string, opts: CallOptions = {}) {
    return json<T>(method, this.url + path, { ...opts, token: this.token });
  }
  async fees(): Promise<FeeEntry[]> {
    return (await this.call<{ entries: FeeEntry[] }>('GET', '/v1/admin/fees')).entries;
  }
  /** Replaces the whole fee schedule. */
  async setFees(entries: readonly FeeEntry[]): Promise<FeeEntry[]> {
    return (await this.call<{ entries: FeeEntry[] }>('PUT', '/v1/admin/fees', { body: { entries } })).entries;
  }
  async windows(): Promise<SettlementWindow[]> {
    return (await this.call<{ windows: SettlementWindow[] }>('GET', '/v1/admin/settlement/windows')).windows;
  }
  /** Closes the open window (or the given one, which must be the open one) and returns its report. */
  closeWindow(windowId?: string) {
    return this.call<SettlementReport>('POST', '/v1/admin/settlement/windows/close', {
      body: windowId ? { windowId } : {},
    });
  }
  report(windowId: string) {
    return this.call<SettlementReport>(
      'GET',
      `/v1/admin/settlement/windows/${encodeURIComponent(windowId)}/report`,
    );
  }
  /** The report as CSV, one row per currency and processor. */
  reportCsv(windowId: string): Promise<string> {
    return text(`${this.url}/v1/admin/settlement/windows/${encodeURIComponent(windowId)}/report?format=csv`, {
      token: this.token,
    });
  }
  /** Every committed transfer of the window, read page by page. */
  async windowTransfers(windowId: string): Promise<WindowTransfer[]> {
    const all: WindowTransfer[] = [];
    let after: string | undefined;
    do {
      const page = await this.call<{ transfers: WindowTransfer[]; next?: string }>(
        'GET',
        `/v1/admin/settlement/windows/${encodeURIComponent(windowId)}/transfers` +
          (after === undefined ? '' : `?after=${encodeURIComponent(after)}`),
      );
      all.push(...page.transfers);
      after = page.next;
    } while (after !== undefined);
    return all;
  }
  transfer(transferId: string) {
    return this.call<HubTransferView>('GET', `/v1/admin/transfers/${encodeURIComponent(transferId)}`);
  }
  async positions(): Promise<PositionView[]> {
    return (await this.call<{ positions: PositionView[] }>('GET', '/v1/admin/positions')).positions;
  }
  /** Tops up or withdraws a processor's liquidity (net debit cap) in one currency. */
  liquidity(processorId: string, amount: MoneyWire, direction: 'deposit' | 'withdraw') {
    return this.call<PositionView>('POST', '/v1/admin/liquidity', {
      body: { processorId, amount, direction },
    });
  }
}

/** A processor's FX and settlement operator API. */
export class FxAdmin {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}
  private call<T>(method: string, path: string, opts: CallOptions = {}) {
    return json<T>(method, this.url + path, { ...opts, token: this.token });
  }
  fx() {
    return this.call<FxSettings>('GET', '/v1/admin/fx');
  }
  /** Replaces the rates table. */
  setRates(rates: ReadonlyArray<Pick<FxRateEntry, 'base' | 'quote' | 'rate'>>) {
    return this.call<FxSettings>('PUT', '/v1/admin/fx/rates', { body: { rates } });
  }
  setConfig(change: FxConfigChange) {
    return this.call<FxSettings>('PUT', '/v1/admin/fx/config', { body: change });
  }
  /** Re-reads the rates file; an invalid file (RATES_FILE_INVALID) keeps the old rates. */
  reload() {
    return this.call<FxSettings>('POST', '/v1/admin/fx/reload', { body: {} });
  }
  async settlements(): Promise<BookedSettlement[]> {
    return (await this.call<{ windows: BookedSettlement[] }>('GET', '/v1/admin/settlement')).windows;
  }
  reconcile(request: ReconcileRequest) {
    return this.call<ReconcileAnswer>('POST', '/v1/admin/reconcile', { body: request });
  }
}
