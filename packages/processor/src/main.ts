/**
 * Process entry of a processor node:
 *   node packages/processor/dist/main.js --id bank-a --name "Bank A" --kind bank --currency EUR \
 *     --prefix 101 --country AT --data-dir .semops/bank-a --hub http://127.0.0.1:4000 [--port N]
 *     [--rates-file rates.csv] [--fx-spread-bps 50] [--fx-fee HUF:10000] [--quote-ttl-ms 30000]
 * The FX flags make the processor convert for customers paying requests in another currency: mid rates from
 * the file (`base,quote,rate` lines, reloaded when it changes), a spread in basis points, a fixed fee per
 * customer currency in minor units (repeatable), and how long a quote shown to a customer holds.
 * Prints one JSON line `{"event":"ready",…}` when it listens; stops cleanly on SIGINT/SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createProcessor } from './app.js';
import { checkFxConfig, type FxOptions } from './fx/service.js';

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
  const file = values['rates-file'];
  const spread = values['fx-spread-bps'];
  const fees = values['fx-fee'] ?? [];
  const ttl = values['quote-ttl-ms'];
  if (file === undefined && spread === undefined && fees.length === 0 && ttl === undefined) return undefined;
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) fail(`--${name} takes a whole number, not ${JSON.stringify(v)}`);
    return Number(v);
  };
  const feeFixed: Record<string, string> = {};
  for (const f of fees) {
    const m = /^([A-Z]{3}):(\d+)$/.exec(f);
    if (!m) fail(`--fx-fee takes CUR:MINOR_UNITS such as HUF:10000 (100.00 HUF), not ${JSON.stringify(f)}`);
    feeFixed[m[1]!] = BigInt(m[2]!).toString();
  }
  const spreadBps = int('fx-spread-bps', spread);
  const quoteTtlMs = int('quote-ttl-ms', ttl);
  const opts: FxOptions = {
    ...(file ? { ratesFile: resolve(file) } : {}),
    ...(spreadBps !== undefined ? { spreadBps } : {}),
    feeFixed,
    ...(quoteTtlMs !== undefined ? { quoteTtlMs } : {}),
  };
  try {
    checkFxConfig(opts);
  } catch (e) {
    fail(`bad FX flag: ${(e as Error).message}`);
  }
  return opts;
}

function fail(msg: string): never {
  process.stderr.write(`${msg}\n`);
  process.exit(2);
}

const kind = values.kind === 'mno' ? 'mno' : 'bank';
const fx = fxOptions();
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
  ...(values['transfer-ttl-ms'] ? { transferTtlMs: Number(values['transfer-ttl-ms']) } : {}),
  ...(fx ? { fx } : {}),
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
