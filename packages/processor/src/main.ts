/**
 * Process entry of a processor node:
 *   node packages/processor/dist/main.js --id bank-a --name "Bank A" --kind bank --currency EUR \
 *     --prefix 101 --country AT --data-dir .semops/bank-a --hub http://127.0.0.1:4000 [--port N]
 *     [--rates-file rates.csv] [--fx-spread-bps 50] [--fx-fee HUF:10000] [--quote-ttl-ms 30000]
 *     [--log-level info]
 * The FX flags make the processor convert for customers paying requests in another currency: mid rates from
 * the file (`base,quote,rate` lines, reloaded when it changes), a spread in basis points, a fixed fee per
 * customer currency in minor units (repeatable), and how long a quote shown to a customer holds. Only the
 * flags given are applied, at each start (a flag left out keeps what the database holds, e.g. the operator's
 * `PUT /v1/admin/fx/config`); the rates file is loaded at each start. `--instance` (a further instance of a
 * running processor) applies none of them: the running processor's settings stand.
 * TLS (optional; plain HTTP by default): `--tls-cert FILE --tls-key FILE` serve HTTPS with that certificate
 * (the hub's operator pins its SHA-256 fingerprint as the participant's `tlsCertSha256`), and
 * `--hub-cert-sha256 HEX` pins the hub's certificate for an `https://` hub (or SEMOPS_TLS_CERT,
 * SEMOPS_TLS_KEY, SEMOPS_HUB_CERT_SHA256). See docs/operations.md.
 * Prints one JSON line `{"event":"ready",…}` when it listens; stops cleanly on SIGINT/SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadServerTls } from '@semops/node';
import { createProcessor } from './app.js';
import type { FxOptions } from './fx/service.js';
import { fxOptionsFromFlags } from './fx/flags.js';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string', default: 'bank' },
    currency: { type: 'string', multiple: true },
    prefix: { type: 'string' },
    country: { type: 'string', default: 'AT' },
    'data-dir': { type: 'string' },
    hub: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'transfer-ttl-ms': { type: 'string' },
    'rates-file': { type: 'string' },
    'fx-spread-bps': { type: 'string' },
    'fx-fee': { type: 'string', multiple: true },
    'quote-ttl-ms': { type: 'string' },
    // A further instance of a processor already running on the same PostgreSQL schema and data directory.
    instance: { type: 'boolean', default: false },
    // pino level of <data-dir>/logs/<id>.log (default SEMOPS_LOG_LEVEL, else info; debug: a line per payment step).
    'log-level': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'hub-cert-sha256': { type: 'string' },
  },
});

function need(name: string, v: string | undefined): string {
  if (!v) {
    process.stderr.write(`missing --${name}\n`);
    process.exit(2);
  }
  return v;
}

/** The FX options from the flags, or undefined when none is given; a bad flag stops the start. */
function fxOptions(): FxOptions | undefined {
  try {
    return fxOptionsFromFlags({
      ratesFile: values['rates-file'],
      spreadBps: values['fx-spread-bps'],
      fees: values['fx-fee'],
      quoteTtlMs: values['quote-ttl-ms'],
    });
  } catch (e) {
    return fail((e as Error).message);
  }
}

function fail(msg: string): never {
  process.stderr.write(`${msg}\n`);
  process.exit(2);
}

/** The certificate to serve HTTPS with, when both files are given. */
function tlsOptions() {
  const cert = values['tls-cert'] ?? process.env.SEMOPS_TLS_CERT;
  const key = values['tls-key'] ?? process.env.SEMOPS_TLS_KEY;
  if (!cert && !key) return undefined;
  if (!cert || !key) return fail('give both --tls-cert FILE and --tls-key FILE (or neither, for plain HTTP)');
  try {
    return loadServerTls(cert, key);
  } catch (e) {
    return fail(`cannot read the TLS certificate or key: ${(e as Error).message}`);
  }
}

const kind = values.kind === 'mno' ? 'mno' : 'bank';
const fx = fxOptions();
const tls = tlsOptions();
const hubCertSha256 = values['hub-cert-sha256'] ?? (process.env.SEMOPS_HUB_CERT_SHA256 || undefined);
if (hubCertSha256 !== undefined && !/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/.test(hubCertSha256)) {
  fail(
    '--hub-cert-sha256 takes the SHA-256 fingerprint of the hub certificate: 64 hex digits (colons allowed)',
  );
}
const node = await createProcessor({
  id: need('id', values.id),
  name: values.name ?? values.id ?? 'processor',
  kind,
  currencies: values.currency ?? ['EUR'],
  routingPrefix: need('prefix', values.prefix),
  country: values.country ?? 'AT',
  dataDir: need('data-dir', values['data-dir'] ?? process.env.SEMOPS_DATA_DIR),
  hubUrl: need('hub', values.hub ?? process.env.SEMOPS_HUB_URL),
  host: values.host ?? '127.0.0.1',
  port: Number(values.port ?? 0),
  logger: true,
  ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
  ...(values['transfer-ttl-ms'] ? { transferTtlMs: Number(values['transfer-ttl-ms']) } : {}),
  ...(fx ? { fx } : {}),
  ...(tls ? { tls } : {}),
  ...(hubCertSha256 ? { hubCertSha256 } : {}),
  instance: values.instance ?? false,
});
const ready = { event: 'ready', id: node.id, url: node.url, pid: process.pid };
if (!values.instance) writeFileSync(join(values['data-dir'] ?? '', 'node.json'), JSON.stringify(ready));
process.stdout.write(`${JSON.stringify(ready)}\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    node.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
