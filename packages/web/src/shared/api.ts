/**
 * Calls to the processor that served the page (same origin). Every failure becomes an `ApiError` carrying the
 * stable code and the message of the processor's `{ error: { code, message, details } }` body.
 */

/** A failed call: `code` is the processor's error code, or NETWORK when it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface CallOptions {
  /** Bearer credential: a wallet access token or a merchant API key. */
  readonly token?: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** Calls `path` on this page's processor and returns its JSON answer. */
export async function api<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError('NETWORK', 'Cannot reach your processor. Check the connection and try again.', 0);
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
      ?.error;
    if (err && typeof err.code === 'string') {
      throw new ApiError(
        err.code,
        typeof err.message === 'string' ? err.message : err.code,
        res.status,
        err.details,
      );
    }
    throw new ApiError('HTTP_ERROR', `The processor answered HTTP ${res.status}.`, res.status);
  }
  return data as T;
}

/** The message to show for any thrown value. */
export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return e.message;
  return 'Something went wrong. Please try again.';
}

/** What `GET /v1/info` says about the processor that served the page. */
export interface ProcessorInfo {
  readonly id: string;
  readonly name: string;
  readonly kind: 'bank' | 'mno';
  readonly currencies: readonly string[];
  readonly routingPrefix: string;
  readonly country: string;
  readonly encryptionKey: JsonWebKey;
  readonly signingKey: JsonWebKey;
}

let info: Promise<ProcessorInfo> | undefined;

/** This page's processor (fetched once per page load). */
export function processorInfo(): Promise<ProcessorInfo> {
  info ??= api<ProcessorInfo>('GET', '/v1/info').catch((e: unknown) => {
    info = undefined;
    throw e;
  });
  return info;
}
