/**
 * A customer's wallet as a client of the processor's wallet API: it keeps its device key in memory and signs
 * approvals exactly as the web wallet does.
 */
import {
  ACTION_TYP,
  APPROVAL_TYP,
  type DeviceActionName,
  encryptJson,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  publicPart,
  randomToken,
  signJson,
  type JWK,
  type Key,
  type MoneyWire,
} from '@semops/protocol';
import type { ProcessorInfo } from './clients-admin.js';
import { json } from './http.js';

export interface WalletNotification {
  id: string;
  kind: 'payment.received' | 'payment.sent' | 'request.received' | 'refund.received';
  text: string;
  amount?: MoneyWire;
  createdAt: number;
}

export interface InboxItem {
  id: string;
  requestId: string;
  processorId: string;
  from: string;
  amount: MoneyWire;
  note: string | null;
  status: 'OPEN' | 'PAID' | 'DECLINED' | 'EXPIRED';
  createdAt: number;
  code: string;
}

export interface ResolvedRequest {
  requestId: string;
  processorId: string;
  merchant: { id: string; name: string; city: string; category: string };
  currency: string;
  amount?: MoneyWire;
  minAmount?: MoneyWire;
  maxAmount?: MoneyWire;
  reference: string;
  expiresAt: number;
  /** A request in another currency than the customer's: the conversion shown before the PIN. */
  quote?: FxQuoteView;
  fee?: MoneyWire;
}

/** An FX quote as the customer sees it: rate, fee and total in their own currency, valid until `expiresAt`. */
export interface FxQuoteView {
  quoteId: string;
  amount: MoneyWire;
  converted: MoneyWire;
  fee: MoneyWire;
  total: MoneyWire;
  rate: string;
  expiresAt: number;
}

export interface PaymentView {
  paymentId: string;
  status: 'COMPLETED' | 'PENDING' | 'FAILED';
  amount: MoneyWire;
  /** Converted payments: what the customer's account was debited, in its currency (fee included). */
  charged?: MoneyWire;
  fx?: { rate: string; fee: MoneyWire };
  error?: string;
  receipt?: string;
}

export interface SavedWallet {
  url: string;
  deviceId: string;
  accessToken: string;
  customerId: string;
  deviceKey: JWK;
}

/** A customer's phone: a device key pair, an access token and the PIN the customer types. */
export class Wallet {
  private constructor(
    readonly url: string,
    readonly deviceId: string,
    readonly accessToken: string,
    readonly customerId: string,
    private readonly deviceKey: Key,
    private readonly processorKey: Key,
    /** The device private key as a JWK, kept only so the CLI can save its demo wallets. */
    private readonly deviceJwk: JWK,
  ) {}

  /** Enrols a new device with the activation code the processor gave the customer. */
  static async enrol(url: string, phone: string, activationCode: string, pin: string): Promise<Wallet> {
    const info = await json<ProcessorInfo>('GET', `${url}/v1/info`);
    const processorKey = await importEncryptionKey(info.encryptionKey);
    const keys = await generateSigningKeys();
    const res = await json<{ deviceId: string; accessToken: string; customer: { id: string } }>(
      'POST',
      `${url}/v1/wallet/enrol`,
      {
        body: {
          phone,
          activationCode,
          devicePublicKey: publicPart(keys.publicJwk),
          pin: await encryptJson({ pin }, processorKey),
        },
      },
    );
    return new Wallet(
      url,
      res.deviceId,
      res.accessToken,
      res.customer.id,
      await importSigningKey(keys.privateJwk),
      processorKey,
      keys.privateJwk,
    );
  }

  /** Saves what the phone keeps (device id, token, private key) so the CLI can pay later. */
  export(): SavedWallet {
    return {
      url: this.url,
      deviceId: this.deviceId,
      accessToken: this.accessToken,
      customerId: this.customerId,
      deviceKey: this.deviceJwk,
    };
  }

  static async restore(saved: SavedWallet): Promise<Wallet> {
    const info = await json<ProcessorInfo>('GET', `${saved.url}/v1/info`);
    return new Wallet(
      saved.url,
      saved.deviceId,
      saved.accessToken,
      saved.customerId,
      await importSigningKey(saved.deviceKey),
      await importEncryptionKey(info.encryptionKey),
      saved.deviceKey,
    );
  }

  me() {
    return json<{ balance: MoneyWire; available: MoneyWire; customer: { name: string } }>(
      'GET',
      `${this.url}/v1/wallet/me`,
      {
        token: this.accessToken,
      },
    );
  }
  async balance(): Promise<bigint> {
    return BigInt((await this.me()).balance.value);
  }
  resolve(code: string) {
    return json<ResolvedRequest>('POST', `${this.url}/v1/wallet/resolve`, {
      token: this.accessToken,
      body: { code },
    });
  }

  /** Builds a signed approval; `overrides` lets tests tamper with what is signed. */
  async approval(
    r: ResolvedRequest,
    pin: string,
    overrides: {
      amount?: MoneyWire;
      payee?: string;
      requestId?: string;
      expiresAt?: number;
      nonce?: string;
      /** The FX quote the customer accepted (default: the one shown at resolve). */
      quoteId?: string;
    } = {},
  ): Promise<string> {
    const amount = overrides.amount ?? r.amount;
    if (!amount) throw new Error('this request needs an amount');
    const quoteId = overrides.quoteId ?? r.quote?.quoteId;
    const payload = {
      deviceId: this.deviceId,
      requestId: overrides.requestId ?? r.requestId,
      payee: overrides.payee ?? r.processorId,
      amount,
      nonce: overrides.nonce ?? randomToken(16),
      expiresAt: overrides.expiresAt ?? Date.now() + 60_000,
      pin: await encryptJson({ pin }, this.processorKey),
      ...(quoteId ? { quoteId } : {}),
    };
    return signJson(payload, this.deviceKey, this.deviceId, APPROVAL_TYP);
  }

  submit(approval: string) {
    return json<PaymentView>('POST', `${this.url}/v1/wallet/payments`, {
      token: this.accessToken,
      body: { approval },
    });
  }

  /** A quote for paying `amount` of a resolved request from an account in another currency. */
  quote(requestId: string, amount: MoneyWire) {
    return json<FxQuoteView>('POST', `${this.url}/v1/wallet/quotes`, {
      token: this.accessToken,
      body: { requestId, amount },
    });
  }

  /**
   * Resolve, approve with PIN and submit: what a customer does after scanning a code. A request in another
   * currency is paid at the quote shown (asked for here when the customer typed the amount).
   */
  async pay(code: string, pin: string, amount?: MoneyWire): Promise<PaymentView> {
    const r = await this.resolve(code);
    const home = (await this.me()).balance.currency;
    const quoteId =
      amount && r.currency !== home ? (await this.quote(r.requestId, amount)).quoteId : r.quote?.quoteId;
    return this.submit(
      await this.approval(r, pin, { ...(amount ? { amount } : {}), ...(quoteId ? { quoteId } : {}) }),
    );
  }

  /** Who a phone number or `name@processor` address is, as the payer may see it (the short name its processor shows). */
  p2pResolve(to: string) {
    return json<ResolvedRequest & { kind: 'p2p' }>('POST', `${this.url}/v1/wallet/p2p/resolve`, {
      token: this.accessToken,
      body: { to },
    });
  }

  /** Sends money to a person: resolve, show the payee's short name, approve with PIN. */
  async sendP2P(to: string, amount: MoneyWire, pin: string): Promise<PaymentView> {
    const r = await this.p2pResolve(to);
    return this.submit(await this.approval(r, pin, { amount }));
  }

  /**
   * A device-signed account action carrying the current PIN (what changes a credential or a limit needs
   * besides the access token); `overrides` lets tests tamper with what is signed.
   */
  async action(
    action: DeviceActionName,
    pin: string,
    params: Record<string, unknown> = {},
    overrides: { nonce?: string; expiresAt?: number; deviceId?: string } = {},
  ): Promise<string> {
    const payload = {
      deviceId: overrides.deviceId ?? this.deviceId,
      action,
      nonce: overrides.nonce ?? randomToken(16),
      expiresAt: overrides.expiresAt ?? Date.now() + 60_000,
      pin: await encryptJson({ pin }, this.processorKey),
      params,
    };
    return signJson(payload, this.deviceKey, this.deviceId, ACTION_TYP);
  }

  /** The PIN as a JWE to this processor (e.g. the new PIN of a PIN change). */
  sealPin(pin: string): Promise<string> {
    return encryptJson({ pin }, this.processorKey);
  }

  /** Sets the phone-less alias (needs the PIN). */
  async setAlias(alias: string, pin = '1234') {
    return json<{ address: string }>('POST', `${this.url}/v1/wallet/alias`, {
      token: this.accessToken,
      body: { action: await this.action('alias.set', pin, { alias }) },
    });
  }

  requestMoney(from: string, amount: MoneyWire, note?: string) {
    return json<{ requestId: string; status: 'SENT' }>('POST', `${this.url}/v1/wallet/p2p/requests`, {
      token: this.accessToken,
      body: { from, amount, ...(note ? { note } : {}) },
    });
  }

  async inbox(): Promise<InboxItem[]> {
    return (
      await json<{ items: InboxItem[] }>('GET', `${this.url}/v1/wallet/inbox`, { token: this.accessToken })
    ).items;
  }

  decline(inboxId: string) {
    return json<InboxItem>('POST', `${this.url}/v1/wallet/inbox/${inboxId}/decline`, {
      token: this.accessToken,
    });
  }

  async notifications(): Promise<WalletNotification[]> {
    return (
      await json<{ notifications: WalletNotification[] }>('GET', `${this.url}/v1/wallet/notifications`, {
        token: this.accessToken,
      })
    ).notifications;
  }

  payment(id: string) {
    return json<PaymentView>('GET', `${this.url}/v1/wallet/payments/${id}`, { token: this.accessToken });
  }

  /** Polls a payment until it is no longer pending. */
  async waitFinal(id: string, timeoutMs = 20_000): Promise<PaymentView> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.payment(id);
      if (p.status !== 'PENDING' || Date.now() > end) return p;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
