/**
 * The merchant API client: create, read and cancel payment requests, follow them until paid, list payments
 * and refund. Uses the global `fetch` (Node ≥ 20, browsers, workers); keep your API key on your server.
 */
import { SemopsApiError, SemopsTimeoutError, apiErrorFromResponse } from './errors.js';
import type { Money } from './money.js';
import type { CreateRequestInput, MerchantPayment, PaymentRequest, Refund, RequestStatus } from './types.js';

export interface SemopsMerchantOptions {
  /** Your processor's API base URL, e.g. `https://api.bank-a.example` (no trailing `/v1`). */
  readonly baseUrl: string;
  /** Your merchant API key (`Authorization: Bearer …`). Server-side only: it can create and refund. */
  readonly apiKey: string;
  /** Per-call timeout; default 30 s. */
  readonly timeoutMs?: number;
  /**
   * How many times a call is retried after a network failure, `UNAVAILABLE`, `PARTICIPANT_UNREACHABLE` or
   * `RATE_LIMITED`; default 2. Only reads and calls carrying an idempotency key are retried, so a retry can
   * never pay or refund twice.
   */
  readonly maxRetries?: number;
  /** A `fetch` to use instead of the global one (tests, proxies). */
  readonly fetch?: typeof fetch;
}

export interface CallOptions {
  /** Cancels the call. */
  readonly signal?: AbortSignal;
}

export interface IdempotentCallOptions extends CallOptions {
  /**
   * 1–64 characters. A repeat with the same key and body returns the first result; the same key with another
   * body fails with `IDEMPOTENCY_CONFLICT`. Use your own order id so a retried checkout never makes a second
   * request. Default: a random key per call (still used for the SDK's own retries).
   */
  readonly idempotencyKey?: string;
}

export interface WaitOptions extends CallOptions {
  /** Give up after this long (then {@link SemopsTimeoutError}); default 15 minutes, a request's default life. */
  readonly timeoutMs?: number;
  /** Called with the request on every status the stream reports, the first one included. */
  readonly onStatus?: (request: PaymentRequest) => void;
}

const FINAL: ReadonlySet<RequestStatus> = new Set(['PAID', 'EXPIRED', 'CANCELLED']);

/** True once a request can no longer change: `PAID`, `EXPIRED` or `CANCELLED`. */
export function isFinal(status: RequestStatus): boolean {
  return FINAL.has(status);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function randomKey(): string {
  return `sdk-${globalThis.crypto.randomUUID()}`;
}

const pathId = (id: string) => encodeURIComponent(id);

/**
 * A merchant's connection to its SEMOPS processor.
 *
 * @example
 * import { SemopsMerchant, amount } from '@semops/merchant-sdk';
 *
 * const semops = new SemopsMerchant({ baseUrl: 'http://127.0.0.1:4001', apiKey: process.env.SEMOPS_API_KEY! });
 * const request = await semops.createRequest(
 *   { amount: amount('12.50', 'EUR'), reference: 'order-1001', description: '2 books' },
 *   { idempotencyKey: 'order-1001' },
 * );
 * showQr(request.qr); // or hand over request.deepLink / request.shortCode
 * const done = await semops.waitForCompletion(request.id, { timeoutMs: 10 * 60_000 });
 * if (done.status === 'PAID') ship();
 */
export class SemopsMerchant {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #fetch: typeof fetch;

  constructor(options: SemopsMerchantOptions) {
    if (!options.baseUrl) throw new TypeError('SemopsMerchant needs baseUrl');
    if (!options.apiKey) throw new TypeError('SemopsMerchant needs apiKey');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxRetries = options.maxRetries ?? 2;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * Creates a payment request. The answer carries the QR payload, deep link and short code to show the payer.
   *
   * @example
   * const r = await semops.createRequest(
   *   { amount: amount('4.20', 'EUR'), reference: 'table-7', expiresInSeconds: 300 },
   *   { idempotencyKey: 'table-7-2025-06-01' },
   * );
   * r.shortCode; // '1010000427'
   */
  createRequest(input: CreateRequestInput, options: IdempotentCallOptions = {}): Promise<PaymentRequest> {
    const currency = input.currency ?? input.amount?.currency ?? input.minAmount?.currency;
    if (!currency) throw new TypeError('createRequest needs a currency or an amount');
    const body = {
      currency,
      ...(input.amount ? { amount: input.amount } : {}),
      ...(input.minAmount ? { minAmount: input.minAmount } : {}),
      ...(input.maxAmount ? { maxAmount: input.maxAmount } : {}),
      reference: input.reference,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.expiresInSeconds === undefined ? {} : { expiresInSeconds: input.expiresInSeconds }),
      ...(input.reusable === undefined ? {} : { reusable: input.reusable }),
    };
    return this.#call<PaymentRequest>('POST', '/v1/requests', {
      body,
      idempotencyKey: options.idempotencyKey ?? randomKey(),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Reads a request and the payments made against it.
   *
   * @example
   * const r = await semops.getRequest('req_01JD…');
   * if (r.status === 'PAID') console.log(r.payments[0]?.paymentId);
   */
  getRequest(id: string, options: CallOptions = {}): Promise<PaymentRequest> {
    return this.#call<PaymentRequest>('GET', `/v1/requests/${pathId(id)}`, options);
  }

  /**
   * Cancels an open request so it can no longer be paid. Fails with `REQUEST_ALREADY_PAID` when a payment
   * won the race: then treat the order as paid.
   *
   * @example
   * await semops.cancelRequest(r.id);
   */
  cancelRequest(id: string, options: CallOptions = {}): Promise<PaymentRequest> {
    return this.#call<PaymentRequest>('POST', `/v1/requests/${pathId(id)}/cancel`, {
      ...options,
      retry: true, // cancelling twice is the same as once
    });
  }

  /**
   * The payments you received (committed), newest first.
   *
   * @example
   * const total = (await semops.payments()).reduce((s, p) => s + BigInt(p.amount.value), 0n);
   */
  async payments(options: CallOptions & { limit?: number } = {}): Promise<MerchantPayment[]> {
    const q = options.limit === undefined ? '' : `?limit=${options.limit}`;
    const res = await this.#call<{ payments: MerchantPayment[] }>(
      'GET',
      `/v1/merchant/payments${q}`,
      options,
    );
    return res.payments;
  }

  /**
   * The request's status as server-sent events: yields the request now and on every change, and ends when it
   * is final (or when the connection drops: then read it again with {@link getRequest}).
   *
   * @example
   * for await (const r of semops.watchRequest(id)) console.log(r.status); // OPEN … PAID
   */
  async *watchRequest(id: string, options: CallOptions = {}): AsyncGenerator<PaymentRequest, void, void> {
    const res = await this.#send('GET', `/v1/requests/${pathId(id)}/events`, {
      accept: 'text/event-stream',
      stream: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value.replace(/\r\n?/g, '\n');
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (event === 'status' && data.length > 0) yield JSON.parse(data.join('\n')) as PaymentRequest;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  /**
   * Waits until a request is final and returns it: `PAID` (check `payments`), `EXPIRED` or `CANCELLED`.
   * Follows the server-sent event stream and, if the stream drops, reads the request and reconnects.
   * Throws {@link SemopsTimeoutError} after `timeoutMs`.
   *
   * For fulfilling orders, prefer the signed webhook (it reaches you even if this process restarts); this is
   * for a till or vending machine that waits in front of the customer.
   *
   * @example
   * const r = await semops.waitForCompletion(request.id, { timeoutMs: 120_000 });
   * if (r.status === 'PAID') dispense();
   */
  async waitForCompletion(id: string, options: WaitOptions = {}): Promise<PaymentRequest> {
    const timeoutMs = options.timeoutMs ?? 15 * 60_000;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('timeout')), timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
    let last: PaymentRequest | undefined;
    let backoff = 250;
    try {
      for (;;) {
        try {
          for await (const r of this.watchRequest(id, { signal })) {
            last = r;
            backoff = 250;
            options.onStatus?.(r);
            if (isFinal(r.status)) return r;
          }
          // The stream ended without a final status (a proxy cut it): read the request, then reconnect.
          last = await this.getRequest(id, { signal });
          if (isFinal(last.status)) return last;
        } catch (e) {
          if (signal.aborted) throw e;
          if (!(e instanceof SemopsApiError && e.retryable) && !(e instanceof TypeError)) throw e;
        }
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5_000);
      }
    } catch (e) {
      if (timeout.signal.aborted && !options.signal?.aborted) {
        throw new SemopsTimeoutError(`request ${id} was not final after ${timeoutMs} ms`, last);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Refunds all of a completed payment, or `amount` of it (several partial refunds up to the paid amount).
   * The money goes back to whoever paid, through their processor: you never learn who it was.
   *
   * Until your processor offers refunds this rejects with the server's {@link SemopsApiError} (for example
   * `NOT_FOUND`); it never pretends to have refunded.
   *
   * @example
   * await semops.refund('pay_01JD…', amount('2.00', 'EUR'), { idempotencyKey: 'rma-77' });
   */
  refund(paymentId: string, amount?: Money, options: IdempotentCallOptions = {}): Promise<Refund> {
    return this.#call<Refund>('POST', `/v1/payments/${pathId(paymentId)}/refunds`, {
      body: amount ? { amount } : {},
      idempotencyKey: options.idempotencyKey ?? randomKey(),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async #call<T>(
    method: 'GET' | 'POST',
    path: string,
    opts: CallOptions & { body?: unknown; idempotencyKey?: string; retry?: boolean },
  ): Promise<T> {
    const retry = opts.retry ?? (method === 'GET' || opts.idempotencyKey !== undefined);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#send(method, path, opts);
        const text = await res.text().catch((e: unknown) => {
          throw new SemopsApiError('UNAVAILABLE', 0, `the answer was cut off: ${String(e)}`, undefined, {
            cause: e,
          });
        });
        return (text ? JSON.parse(text) : undefined) as T;
      } catch (e) {
        if (!retry || attempt >= this.#maxRetries || !(e instanceof SemopsApiError) || !e.retryable) throw e;
        if (opts.signal?.aborted) throw e;
        await sleep(200 * 2 ** attempt, opts.signal);
      }
    }
  }

  /** One HTTP exchange; any non-2xx answer or transport failure becomes a {@link SemopsApiError}. */
  async #send(
    method: 'GET' | 'POST',
    path: string,
    opts: CallOptions & { body?: unknown; idempotencyKey?: string; accept?: string; stream?: boolean },
  ): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      accept: opts.accept ?? 'application/json',
    };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
    // A stream lives as long as it must; a plain call gets the per-call timeout.
    const signals = [opts.signal, opts.stream ? undefined : AbortSignal.timeout(this.#timeoutMs)].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    let res: Response;
    try {
      res = await this.#fetch(this.baseUrl + path, {
        method,
        headers,
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
        ...(signals.length ? { signal: AbortSignal.any(signals) } : {}),
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw new SemopsApiError('UNAVAILABLE', 0, `cannot reach ${this.baseUrl}: ${String(e)}`, undefined, {
        cause: e,
      });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text as details
    }
    throw apiErrorFromResponse(res.status, body);
  }
}
