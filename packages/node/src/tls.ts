/**
 * TLS between nodes with pinned certificates. A node started with a certificate and key serves HTTPS; a node
 * that calls it checks the SHA-256 fingerprint of the certificate it is shown against the one pinned for that
 * peer (the hub's directory pins each processor's, a processor's configuration pins the hub's), and refuses
 * the connection before sending anything when they differ: PEER_CERTIFICATE_MISMATCH. A pinned certificate
 * may be self-signed (no CA is needed); a peer without a pin is checked against the system's CAs as usual.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Agent, Dispatcher, buildConnector } from 'undici';
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

/**
 * A pin is checked when a connection opens, and connections are kept alive: after the pin of an origin
 * changes (the operator re-pins a processor whose certificate leaked), a connection checked against the old pin
 * must not carry another request. So a change of any pin replaces the pool; requests already under way finish
 * on the old one.
 */
class RepinningDispatcher extends Dispatcher {
  #agent: Agent;
  readonly #seen = new Map<string, string | undefined>();
  constructor(
    private readonly pins: TlsPins,
    private readonly make: () => Agent,
  ) {
    super();
    this.#agent = make();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = options.origin === undefined ? '' : new URL(String(options.origin)).origin;
    const raw = this.pins.pinFor(origin);
    const pin = raw === undefined ? undefined : normalizeFingerprint(raw);
    if (this.#seen.has(origin) && this.#seen.get(origin) !== pin) {
      const old = this.#agent;
      this.#agent = this.make();
      this.#seen.clear();
      old.close().catch(() => undefined);
    }
    this.#seen.set(origin, pin);
    return this.#agent.dispatch(options, handler);
  }

  override close(): Promise<void> {
    return this.#agent.close();
  }

  override destroy(): Promise<void> {
    return this.#agent.destroy();
  }
}

/** The keep-alive connection pool a node calls its peers through, checking TLS pins when given. */
export function createNodeDispatcher(tls?: TlsPins): Dispatcher {
  const make = () =>
    new Agent({
      keepAliveTimeout: 30_000,
      connections: 128,
      pipelining: 1,
      ...(tls ? { connect: pinnedConnector(tls) } : {}),
    });
  return tls ? new RepinningDispatcher(tls, make) : make();
}

/**
 * Makes a self-signed certificate for `127.0.0.1` and `localhost` with the `openssl` CLI (tests, trying TLS on
 * one machine): `<dir>/<name>.cert.pem` and `<dir>/<name>.key.pem`, valid for a day.
 */
export function makeSelfSignedCertificate(dir: string, name: string): ServerTls {
  const certFile = join(dir, `${name}.cert.pem`);
  const keyFile = join(dir, `${name}.key.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return loadServerTls(certFile, keyFile);
}
