/**
 * The operator's clients: a processor's admin API (customers, merchants, ledger) and the hub's (participants,
 * liquidity, positions).
 */
import type { PositionView } from '@semops/hub';
import type { MoneyWire, Participant } from '@semops/protocol';
import { json, type CallOptions } from './http.js';

/** What a processor's `GET /v1/info` says about it: the hub's participant record less its base URL. */
export type ProcessorInfo = Omit<Participant, 'baseUrl'>;

export class ProcessorAdmin {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}
  private call<T>(method: string, path: string, opts: CallOptions = {}) {
    return json<T>(method, this.url + path, { ...opts, token: this.token });
  }
  info() {
    return json<ProcessorInfo>('GET', `${this.url}/v1/info`);
  }
  createCustomer(input: { phone: string; name: string; currency: string }) {
    return this.call<{ customerId: string; accountId: string; activationCode: string }>(
      'POST',
      '/v1/admin/customers',
      {
        body: input,
      },
    );
  }
  deposit(customerId: string, amount: bigint) {
    return this.call<{ balance: string }>('POST', `/v1/admin/customers/${customerId}/deposits`, {
      body: { amount: amount.toString() },
    });
  }
  unlock(customerId: string) {
    return this.call('POST', `/v1/admin/customers/${customerId}/unlock`);
  }
  createMerchant(input: {
    name: string;
    city: string;
    category: string;
    currency: string;
    webhookUrl?: string;
  }) {
    return this.call<{ merchantId: string; accountId: string; apiKey: string; webhookSecret: string }>(
      'POST',
      '/v1/admin/merchants',
      { body: input },
    );
  }
  ledger() {
    return this.call<{
      byKind: Array<{
        currency: string;
        kind: string;
        balance: string;
        debitsPending: string;
        creditsPending: string;
      }>;
      totals: Array<{
        currency: string;
        debitsPosted: string;
        creditsPosted: string;
        debitsPending: string;
        creditsPending: string;
      }>;
    }>('GET', '/v1/admin/ledger');
  }
  payment(id: string) {
    return this.call<{ state: string; status: string }>('GET', `/v1/admin/payments/${id}`);
  }
}

export class HubAdmin {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}
  register(info: ProcessorInfo, baseUrl: string) {
    const body = {
      id: info.id,
      name: info.name,
      kind: info.kind,
      baseUrl,
      currencies: info.currencies,
      routingPrefix: info.routingPrefix,
      signingKey: info.signingKey,
      encryptionKey: info.encryptionKey,
    };
    return json('PUT', `${this.url}/v1/admin/participants/${info.id}`, { token: this.token, body });
  }
  liquidity(processorId: string, amount: MoneyWire, direction: 'deposit' | 'withdraw') {
    return json<PositionView>('POST', `${this.url}/v1/admin/liquidity`, {
      token: this.token,
      body: { processorId, amount, direction },
    });
  }
  async positions(): Promise<PositionView[]> {
    return (
      await json<{ positions: PositionView[] }>('GET', `${this.url}/v1/admin/positions`, {
        token: this.token,
      })
    ).positions;
  }
}
