/** The e2e bench's HTTP: a keep-alive pool of its own, errors by their stable code. */
import { Agent, request } from 'undici';
import { SemopsError, errorFromBody } from '@semops/protocol';

export class BenchHttp {
  private readonly dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: null });

  /** `timeoutMs` bounds each call's wait for headers and for the body. */
  constructor(private readonly timeoutMs: number) {}

  async call<T>(method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<T> {
    const res = await request(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      dispatcher: this.dispatcher,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
    throw errorFromBody(parsed, res.statusCode);
  }

  /** Aborts what is in flight and closes every connection (so the nodes can stop at once). */
  destroy(): Promise<void> {
    return this.dispatcher.destroy();
  }
}

/** A stable name for what went wrong: the SEMOPS error code, a transport code, or the error's name. */
export function codeOfError(e: unknown): string {
  if (e instanceof SemopsError) return e.code;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return e instanceof Error ? e.name : 'UNKNOWN';
}
