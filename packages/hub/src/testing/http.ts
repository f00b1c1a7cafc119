/**
 * HTTP helpers for tests of the hub's edge, shared by its own tests and the root network tests
 * (`@semops/hub/testing`).
 */
import { request as httpRequest } from 'node:http';
import type { ErrorBody } from '@semops/protocol';

/**
 * POSTs a body declared (Content-Length) as `length` bytes but sends only its first bytes: a server refuses
 * an oversized body from the declared length, before reading it, and answers; sending all of it would race
 * the server closing the connection (EPIPE on a loaded machine).
 *
 * @example
 * const r = await postDeclaringLength(`${hubUrl}/v1/messages`, MAX_MESSAGE_LENGTH + 2048);
 * r.status; // 413, r.body.error.code 'PAYLOAD_TOO_LARGE'
 */
export function postDeclaringLength(
  url: string,
  length: number,
): Promise<{ status: number; body: ErrorBody }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(length) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          req.destroy();
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ErrorBody });
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
      },
    );
    req.on('error', () => undefined); // the answer, not the unsent rest, is what counts
    req.write('{"jws":"');
  });
}
