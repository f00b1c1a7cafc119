#!/usr/bin/env node
/**
 * Process entry of the hub:
 *   node packages/hub/dist/main.js --data-dir DIR [--port N] [--host H] [--settlement-interval 1h] [--log-level L]
 * (or SEMOPS_DATA_DIR, SEMOPS_PORT, SEMOPS_HOST, SEMOPS_SETTLEMENT_INTERVAL, SEMOPS_LOG_LEVEL). SEMOPS_DATABASE_URL chooses the
 * store: `postgres://…` (schema `hub`) or a SQLite file (default `<dataDir>/hub.db`). Prints one JSON line
 * when ready and writes it to `<dataDir>/node.json`; closes cleanly on SIGINT / SIGTERM.
 *
 * TLS (optional; plain HTTP by default): `--tls-cert FILE --tls-key FILE` (or SEMOPS_TLS_CERT, SEMOPS_TLS_KEY)
 * serve HTTPS with that certificate; processors pin its SHA-256 fingerprint (`--hub-cert-sha256`). Processors
 * registered with an https baseUrl and a `tlsCertSha256` are reached only through that certificate.
 *
 * `--settlement-interval` closes the open settlement window at every multiple of the interval (epoch-aligned,
 * UTC) when it has transfers: `90s`, `15m`, `1h`, `1d` (from 1 s to 7 days). Without it windows close only by
 * command.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadServerTls, type ServerTls } from '@semops/node';
import { createHub } from './app.js';
import { parseInterval } from './settlement/interval.js';

function fail(message: string): never {
  process.stderr.write(`hub: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'settlement-interval': { type: 'string' },
      'log-level': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    strict: true,
  });
  const dataDir = values['data-dir'] ?? process.env.SEMOPS_DATA_DIR;
  if (!dataDir) fail('--data-dir DIR (or SEMOPS_DATA_DIR) is required');
  const portText = values.port ?? process.env.SEMOPS_PORT ?? '0';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`invalid port ${portText}`);
  const host = values.host ?? process.env.SEMOPS_HOST ?? '127.0.0.1';
  const intervalText = values['settlement-interval'] ?? (process.env.SEMOPS_SETTLEMENT_INTERVAL || undefined);
  const settlementIntervalMs = intervalText === undefined ? undefined : parseInterval(intervalText);
  if (intervalText !== undefined && settlementIntervalMs === undefined) {
    fail(`invalid --settlement-interval ${intervalText}: use e.g. 90s, 15m, 1h or 1d (1 s to 7 days)`);
  }

  const certFile = values['tls-cert'] ?? (process.env.SEMOPS_TLS_CERT || undefined);
  const keyFile = values['tls-key'] ?? (process.env.SEMOPS_TLS_KEY || undefined);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    fail('give both --tls-cert FILE and --tls-key FILE (or neither, for plain HTTP)');
  }
  let tls: ServerTls | undefined;
  try {
    tls = certFile && keyFile ? loadServerTls(certFile, keyFile) : undefined;
  } catch (e) {
    fail(`cannot read the TLS certificate or key: ${(e as Error).message}`);
  }

  const hub = await createHub({
    dataDir,
    port,
    host,
    logger: true,
    ...(values['log-level'] === undefined ? {} : { logLevel: values['log-level'] }),
    ...(tls ? { tls } : {}),
    ...(settlementIntervalMs === undefined ? {} : { settlementIntervalMs }),
  });
  const ready = JSON.stringify({ event: 'ready', id: hub.id, url: hub.url, pid: process.pid });
  writeFileSync(join(dataDir, 'node.json'), `${ready}\n`);
  process.stdout.write(`${ready}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    hub.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`hub: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`hub: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
