/**
 * Waiting on the network's state outside vitest (the `semops scenarios` command): poll a read until it shows
 * what is wanted, or give up and hand back what it last showed, for the caller's check to report.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Reads `read` until `done` holds for its value or `timeoutMs` has passed; returns the last value read.
 *
 * @example
 * const r = await waitUntil(() => m.client.request(id), (x) => x.status === 'PAID');
 * check(r.status === 'PAID', `request is ${r.status}`);
 */
export async function waitUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 15_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await sleep(intervalMs);
  }
}

/**
 * Retries `fn` while it fails with ALIAS_NOT_FOUND: a new customer's blinded phone number reaches the hub
 * directory within a sync interval (2 s).
 */
export async function untilAliasKnown<T>(fn: () => Promise<T>, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end || !(e instanceof Error) || !('code' in e) || e.code !== 'ALIAS_NOT_FOUND')
        throw e;
      await sleep(200);
    }
  }
}
