/**
 * TLS between nodes with pinned certificates. A node started with a certificate and key serves HTTPS; a node
 * that calls it checks the SHA-256 fingerprint of the certificate it is shown against the one pinned for that
 * peer (the hub's directory pins each processor's, a processor's configuration pins the hub's), and refuses
 * the connection before sending anything when they differ: PEER_CERTIFICATE_MISMATCH. A pinned certificate
 * may be self-signed (no CA is needed); a peer without a pin is checked against the system's CAs as usual.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { SemopsError } from '@semops/protocol';

/** Where a node looks up the pinned fingerprint of a peer, by origin (`https://host:port`). */
export interface TlsPins {
  /** The pinned SHA-256 fingerprint (any case, colons allowed) for an origin, or undefined for none. */
  pinFor(origin: string): string | undefined;
}

/** A node's own certificate and key (PEM), to serve HTTPS. */
export interface ServerTls {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint of `cert`, 64 lowercase hex digits: what peers pin. */
  readonly fingerprint: string;
}

/** `AB:CD:…` or `abcd…` → 64 lowercase hex digits. */
export function normalizeFingerprint(fp: string): string {
  return fp.replaceAll(':', '').toLowerCase();
}

/** SHA-256 fingerprint of a PEM certificate, 64 lowercase hex digits. */
export function certificateFingerprint(certPem: string): string {
  return normalizeFingerprint(new X509Certificate(certPem).fingerprint256);
}

/** Reads a certificate and its private key (PEM files) for `createServer({ https })`. */
export function loadServerTls(certFile: string, keyFile: string): ServerTls {
  const cert = readFileSync(certFile, 'utf8');
  return { cert, key: readFileSync(keyFile, 'utf8'), fingerprint: certificateFingerprint(cert) };
}

/** Pins from a fixed map of origin → fingerprint (a processor's pin of the hub, tests). */
export function staticPins(pins: Readonly<Record<string, string>>): TlsPins {
  const byOrigin = new Map(
    Object.entries(pins).map(([url, fp]) => [new URL(url).origin, normalizeFingerprint(fp)]),
  );
  return { pinFor: (origin) => byOrigin.get(origin) };
}

/**
 * An undici connector that checks pins: for an `https` origin with a pin, the peer's certificate must have
 * that fingerprint (its CA chain is not checked: the pin is the trust); without a pin, the usual CA check.
 */
export function pinnedConnector(pins: TlsPins): buildConnector.connector {
  const checked = buildConnector({});
  // No session cache: every connection shows its certificate again.
  const pinned = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 });
  return (options, callback) => {
    const origin = `${options.protocol}//${options.hostname}${options.port ? `:${options.port}` : ''}`;
    const pin = options.protocol === 'https:' ? pins.pinFor(origin) : undefined;
    if (pin === undefined) {
      checked(options, callback);
      return;
    }
    const want = normalizeFingerprint(pin);
    pinned(options, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('no socket'), null);
        return;
      }
      const cert = (socket as TLSSocket).getPeerCertificate?.();
      const got = cert?.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : undefined;
      if (got !== want) {
        socket.destroy();
        callback(
          new SemopsError(
            'PEER_CERTIFICATE_MISMATCH',
            `${origin} presented the certificate ${got ?? '(none)'}, not the pinned ${want}; nothing was sent.`,
          ),
          null,
        );
        return;
      }
      callback(null, socket);
    });
  };
}

/** The keep-alive connection pool a node calls its peers through, checking TLS pins when given. */
export function createNodeDispatcher(tls?: TlsPins): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    connections: 128,
    pipelining: 1,
    ...(tls ? { connect: pinnedConnector(tls) } : {}),
  });
}
