/**
 * A small JSON-over-HTTP client with keep-alive, used by the CLI and the scenarios. Every non-2xx answer
 * becomes a typed SemopsError rebuilt from the error body.
 */
import { Agent, request } from 'undici';
import { SemopsApiError } from '@semops/merchant-sdk';
import { SemopsError, errorFromBody } from '@semops/protocol';

const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
}

export interface HttpResult<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/** Sends a request and returns status and parsed body, whatever the status. */
export async function call<T = unknown>(
  method: string,
  url: string,
  opts: CallOptions = {},
): Promise<HttpResult<T>> {
  const { status, body } = await callWithHeaders<T>(method, url, opts);
  return { status, body };
}

/** Like `call`, with the response headers (names in lower case). */
export async function callWithHeaders<T = unknown>(
  method: string,
  url: string,
  opts: CallOptions = {},
): Promise<HttpResult<T> & { readonly headers: Readonly<Record<string, string | string[] | undefined>> }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(url, {
    method: method as 'GET',
    headers,
    dispatcher,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    headersTimeout: opts.timeoutMs ?? 30_000,
    bodyTimeout: opts.timeoutMs ?? 30_000,
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  return { status: res.statusCode, body: body as T, headers: res.headers };
}

/** Sends a request and returns the body of a 2xx answer, or throws the typed error. */
export async function json<T = unknown>(method: string, url: string, opts: CallOptions = {}): Promise<T> {
  const r = await call<T>(method, url, opts);
  if (r.status >= 200 && r.status < 300) return r.body;
  throw errorFromBody(r.body, r.status);
}

/** The error code of a failed call (this client's or the merchant SDK's), or 'OK'. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof SemopsError || e instanceof SemopsApiError) return e.code;
    throw e;
  }
}

export async function closeHttp(): Promise<void> {
  await dispatcher.close();
}
