/**
 * The `semops` command.
 *   semops demo [--dir .semops] [--port 4000] [--postgres URL]   run the demo network (npm start)
 *   semops scenarios [--json] [--only TEXT] [--postgres URL]      run every scenario on a fresh network
 *   semops request --merchant KEY --amount 4.20   create a payment request in the running demo
 *   semops pay CODE --as CUSTOMER [--pin 1234] [--amount 4.20]
 *   semops balances                               balances of the demo customers and merchants
 *   semops verify-receipt JWS [--key-url URL | --key FILE] [--at TIME]
 *                                                 check a parking permit or ticket offline
 *   semops bench ledger | e2e | window [--json] …   benchmarks (bench/ledger.ts, bench/e2e.ts, the hub's window bench)
 *   semops rates | fx-config | fees | windows | report | liquidity | reconcile …
 *                                                 the operator's settlement commands (operator.ts)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SemopsError, formatMoney, parseAmount } from '@semops/protocol';
import { MerchantClient } from './clients-merchant.js';
import { Wallet } from './clients-wallet.js';
import { closeHttp } from './http.js';
import { loadState, runDemo, type DemoState } from './demo.js';
import { DEMO_PROCESSORS } from './network.js';
import { runScenarios, type ScenarioResult } from './scenarios/run.js';
import { checkReceipt, receiptKeyFrom } from './scenarios/usecases.js';
import { benchWindow } from '@semops/hub';
import { formatLedgerBench, runLedgerBench } from './bench/ledger.js';
import { formatE2eBench, parseConcurrency, runE2eBench } from './bench/e2e.js';
import { OPERATOR_HELP, isOperatorCommand, operatorMain } from './operator.js';

const HELP = `semops — the SEMOPS mobile payment network

Commands:
  demo [--dir DIR] [--port N] [--postgres URL]
                                        run hub, bank-a, mno-b and bank-c (data in DIR, default .semops; ports from N, default 4000;
                                        with --postgres every node keeps its tables in PostgreSQL, one schema per node)
  scenarios [--json] [--only TEXT] [--postgres URL]
                                        run every payment scenario on a fresh network; exit 1 if any fails
  bench ledger [--json] [--seconds N]   ledger throughput with group commit vs one transaction per command,
                                        on SQLite and (when reachable) PostgreSQL
  bench e2e [--json] [--postgres URL] [--seconds N] [--concurrency 1,32,64]
                                        complete PIN-approved payments bank-a → mno-b through a fresh network
                                        (real processes, real HTTP): payments/s, p50/p99 latency, errors and
                                        CPU ms per payment of each node, per concurrency level (N s each, default 10)
  bench window [--json] [--postgres URL] [--transfers N]
                                        a settlement window of N committed transfers (default 1,000,000): its
                                        sums, close and report pages, against loading it all in memory
  request --merchant KEY --amount X     create a payment request at a demo merchant (cafe, books, bistro —
                                        bistro at bank-c takes HUF)
  pay CODE --as KEY [--pin P] [--amount X]
                                        pay a request as a demo customer (anna, ben, clara; dora at bank-c
                                        holds HUF: paying in EUR shows the FX quote first)
  balances                              balances of the demo customers and merchants
  verify-receipt JWS [--key-url URL | --key FILE] [--at TIME] [--json]
                                        check a signed parking permit, ticket or receipt offline with the
                                        processor's public key (its /v1/info, fetched once, or a JWK file);
                                        prints valid / expired / invalid; exit 0 only when valid (at TIME)

${OPERATOR_HELP}`;

function demoDir(v: string | undefined): string {
  return resolve(v ?? process.env.SEMOPS_DIR ?? '.semops');
}

function requireState(dir: string): DemoState {
  const s = loadState(dir);
  if (!s || !existsSync(join(dir, 'hub', 'node.json'))) {
    throw new Error(`No demo network in ${dir}: start one with 'npm start' first.`);
  }
  return s;
}

function nodeUrl(dir: string, id: string): string {
  return (JSON.parse(readFileSync(join(dir, id, 'node.json'), 'utf8')) as { url: string }).url;
}

function printTable(results: readonly ScenarioResult[]): void {
  const w = Math.max(...results.map((r) => r.name.length), 8);
  for (const r of results) {
    process.stdout.write(
      `${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(w)}  ${String(r.ms).padStart(6)} ms  ${r.detail}\n`,
    );
  }
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`\n${results.length - failed} passed, ${failed} failed\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // The operator commands parse their own options: bad input exits 2 before any request.
  if (isOperatorCommand(command)) return operatorMain(command, rest);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      postgres: { type: 'string' },
      merchant: { type: 'string' },
      amount: { type: 'string' },
      reference: { type: 'string' },
      as: { type: 'string' },
      pin: { type: 'string' },
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      transfers: { type: 'string' },
      'key-url': { type: 'string' },
      key: { type: 'string' },
      at: { type: 'string' },
    },
  });
  switch (command) {
    case 'demo':
      await runDemo(
        demoDir(values.dir),
        Number(values.port ?? process.env.SEMOPS_PORT ?? 4000),
        values.postgres,
      );
      return 0;
    case 'scenarios': {
      const results = await runScenarios({
        ...(values.only ? { only: values.only } : {}),
        keep: values.keep ?? false,
        ...(values.postgres ? { postgres: values.postgres } : {}),
        ...(values.json
          ? {}
          : { onResult: (r: ScenarioResult) => process.stderr.write(`${r.ok ? '✓' : '✗'} ${r.name}\n`) }),
      });
      if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else printTable(results);
      return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
    }
    case 'request': {
      const dir = demoDir(values.dir);
      const state = requireState(dir);
      const m = state.merchants.find((x) => x.key === values.merchant);
      if (!m) throw new Error(`--merchant must be one of ${state.merchants.map((x) => x.key).join(', ')}`);
      const client = new MerchantClient(nodeUrl(dir, m.processorId), m.apiKey);
      // A merchant takes payments in its processor's currency (EUR at bank-a and mno-b, HUF at bank-c).
      const currency = DEMO_PROCESSORS.find((p) => p.id === m.processorId)?.currency ?? 'EUR';
      const amount = values.amount ? parseAmount(values.amount, currency) : undefined;
      const r = await client.createRequest({
        currency,
        ...(amount
          ? { amount: { value: amount.toString(), currency } }
          : { minAmount: { value: '1', currency } }),
        reference: values.reference ?? `cli-${Date.now()}`,
      });
      process.stdout.write(
        `Request ${r.id} at ${m.name} (${m.processorId}) for ${amount ? formatMoney({ value: amount, currency }) : 'an amount the payer enters'}\n` +
          `  short code : ${r.shortCode}\n  deep link  : ${r.deepLink}\n  QR payload : ${r.qr}\n  expires    : ${new Date(r.expiresAt).toISOString()}\n`,
      );
      return 0;
    }
    case 'pay': {
      const dir = demoDir(values.dir);
      const state = requireState(dir);
      const c = state.customers.find((x) => x.key === values.as);
      if (!c) throw new Error(`--as must be one of ${state.customers.map((x) => x.key).join(', ')}`);
      const code = positionals[0];
      if (!code) throw new Error('give the short code, link or QR payload to pay');
      const wallet = await Wallet.restore({ ...c.wallet, url: nodeUrl(dir, c.processorId) });
      const r = await wallet.resolve(code);
      const amount =
        r.amount ??
        (values.amount
          ? { value: parseAmount(values.amount, r.currency).toString(), currency: r.currency }
          : undefined);
      if (!amount) throw new Error('this request lets the payer choose: add --amount');
      process.stdout.write(
        `${r.merchant.name}, ${r.merchant.city} asks ${formatMoney({ value: BigInt(amount.value), currency: amount.currency })} (ref ${r.reference})\n`,
      );
      // In another currency than the customer's: the quote (rate, fee, total) is shown before the PIN.
      const home = (await wallet.me()).balance.currency;
      const quote =
        amount.currency === home
          ? undefined
          : r.amount && r.quote
            ? r.quote
            : await wallet.quote(r.requestId, amount);
      if (quote) {
        const total = formatMoney({ value: BigInt(quote.total.value), currency: quote.total.currency });
        const fee = formatMoney({ value: BigInt(quote.fee.value), currency: quote.fee.currency });
        process.stdout.write(
          `You pay ${total} (${quote.rate}, fee ${fee}); quote valid until ${new Date(quote.expiresAt).toISOString()}\n`,
        );
      }
      let p = await wallet.submit(
        await wallet.approval(r, values.pin ?? c.pin, {
          amount,
          ...(quote ? { quoteId: quote.quoteId } : {}),
        }),
      );
      if (p.status === 'PENDING') p = await wallet.waitFinal(p.paymentId);
      const charged = p.charged
        ? ` — charged ${formatMoney({ value: BigInt(p.charged.value), currency: p.charged.currency })}`
        : '';
      process.stdout.write(
        `Payment ${p.paymentId}: ${p.status}${p.error ? ` (${p.error})` : ''}${charged}\n`,
      );
      return p.status === 'COMPLETED' ? 0 : 1;
    }
    case 'balances': {
      const dir = demoDir(values.dir);
      const state = requireState(dir);
      for (const c of state.customers) {
        const w = await Wallet.restore({ ...c.wallet, url: nodeUrl(dir, c.processorId) });
        const me = await w.me();
        process.stdout.write(
          `${c.key.padEnd(6)} ${c.name.padEnd(14)} ${c.processorId.padEnd(7)} ${formatMoney({ value: BigInt(me.balance.value), currency: me.balance.currency })}\n`,
        );
      }
      for (const m of state.merchants) {
        const client = new MerchantClient(nodeUrl(dir, m.processorId), m.apiKey);
        const payments = await client.payments();
        const currency = DEMO_PROCESSORS.find((p) => p.id === m.processorId)?.currency ?? 'EUR';
        const done = payments.filter((p) => p.status === 'COMPLETED');
        const total = done.reduce((s, p) => s + BigInt(p.amount.value), 0n);
        process.stdout.write(
          `${m.key.padEnd(6)} ${m.name.padEnd(14)} ${m.processorId.padEnd(7)} received ${formatMoney({ value: total, currency })} in ${done.length} payments\n`,
        );
      }
      return 0;
    }
    case 'bench': {
      if (positionals[0] === 'e2e') {
        const result = await runE2eBench({
          ...(values.seconds === undefined ? {} : { seconds: Number(values.seconds) }),
          ...(values.concurrency === undefined ? {} : { concurrency: parseConcurrency(values.concurrency) }),
          ...(values.postgres ? { postgresUrl: values.postgres } : {}),
          progress: (line) => process.stderr.write(`${line}\n`),
        });
        // With --json the table goes to stderr and the JSON is the one (last) line on stdout.
        (values.json ? process.stderr : process.stdout).write(formatE2eBench(result));
        if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        return 0;
      }
      if (positionals[0] === 'window') {
        const transfers = values.transfers === undefined ? 1_000_000 : Number(values.transfers);
        if (!Number.isSafeInteger(transfers) || transfers < 1)
          throw new Error('--transfers takes a whole number ≥ 1');
        const runs = [await benchWindow({ transfers })];
        if (values.postgres) runs.push(await benchWindow({ transfers, postgresUrl: values.postgres }));
        for (const r of runs) {
          (values.json ? process.stderr : process.stdout).write(
            `${r.engine.padEnd(9)} ${r.transfers} transfers: sums ${r.sumsMs} ms, close ${r.closeMs} ms, ` +
              `fee page ${r.feePageMs} ms, transfers page ${r.transfersPageMs} ms ` +
              `(baseline, loaded and summed in memory: ${r.inMemoryMs} ms)\n`,
          );
        }
        if (values.json) process.stdout.write(`${JSON.stringify({ runs })}\n`);
        return 0;
      }
      if (positionals[0] !== 'ledger') {
        throw new Error(
          'usage: semops bench ledger [--json] [--seconds N]\n' +
            '       semops bench e2e [--json] [--postgres URL] [--seconds N] [--concurrency 1,32,64]\n' +
            '       semops bench window [--json] [--postgres URL] [--transfers N]',
        );
      }
      const result = await runLedgerBench({
        ...(values.seconds === undefined ? {} : { seconds: Number(values.seconds) }),
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatLedgerBench(result));
      return 0;
    }
    case 'verify-receipt':
      return verifyReceiptCommand(positionals[0], values);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(HELP);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`Unknown command ${command}.\n\n${HELP}`);
      return 2;
  }
}

/**
 * `semops verify-receipt`: the key comes from a JWK file (or a saved /v1/info answer) or one fetch of the
 * processor's /v1/info; everything else is offline.
 */
async function verifyReceiptCommand(
  jws: string | undefined,
  values: { 'key-url'?: string; key?: string; at?: string; json?: boolean },
): Promise<number> {
  if (!jws) throw new Error('usage: semops verify-receipt JWS [--key-url URL | --key FILE] [--at TIME]');
  const text = jws === '-' ? readFileSync(0, 'utf8').trim() : jws;
  let source: unknown;
  if (values.key) source = JSON.parse(readFileSync(values.key, 'utf8')) as unknown;
  else if (values['key-url']) {
    const res = await fetch(values['key-url']);
    if (!res.ok) throw new Error(`${values['key-url']} answered ${res.status}`);
    source = await res.json();
  } else throw new Error("give the processor's key: --key-url http://processor/v1/info or --key FILE");
  const jwk = receiptKeyFrom(source, text);
  const at =
    values.at === undefined
      ? Date.now()
      : /^\d+$/.test(values.at)
        ? Number(values.at)
        : Date.parse(values.at);
  if (!Number.isFinite(at)) throw new Error('--at takes epoch milliseconds or an ISO date');
  const result = await checkReceipt(text, jwk, at);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const r = result.receipt;
    const lines = [`${result.status.toUpperCase()}${result.reason ? `: ${result.reason}` : ''}`];
    if (r) {
      const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
      const fields: Array<[string, string | undefined]> = [
        ['kind', r.kind ?? 'receipt'],
        ['zone', r.zone],
        ['event', r.event],
        ['minutes', r.minutes?.toString()],
        ['valid from', iso(r.validFrom)],
        ['valid until', iso(r.validUntil)],
        ['amount', formatMoney({ value: BigInt(r.amount.value), currency: r.amount.currency })],
        ['merchant', `${r.merchant.name}, ${r.merchant.city}`],
        ['reference', r.reference],
        ['receipt', r.receiptId],
        ['payment', r.paymentId],
        ['signed by', r.processorId],
        ['accepted at', iso(r.acceptedAt)],
      ];
      for (const [k, v] of fields) if (v !== undefined) lines.push(`  ${k.padEnd(12)} ${v}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return result.status === 'valid' ? 0 : 1;
}

main(process.argv.slice(2)).then(
  async (code) => {
    await closeHttp();
    process.exit(code);
  },
  async (e: unknown) => {
    process.stderr.write(
      `${e instanceof SemopsError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`,
    );
    await closeHttp();
    process.exit(1);
  },
);
