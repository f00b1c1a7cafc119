/**
 * `semops demo`: the hub, `bank-a`, `mno-b` (EUR) and `bank-c` (HUF) as separate processes with their data
 * under `.semops/`, demo customers, merchants, balances and the hub's fee schedule seeded on first start, kept
 * across restarts; settlement windows close every hour.
 */
import { saveInto, seedUseCases, useCaseLines, type DemoUseCases } from './demo-usecases.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatMoney } from '@semops/protocol';
import { Wallet, type SavedWallet } from './clients-wallet.js';
import { json } from './http.js';
import { SettlementAdmin } from './clients-settlement.js';
import { DEMO_PROCESSORS, startNetwork, type Network } from './network.js';
import { startDemoShop } from './shop/demo.js';
import { startSimulator } from './simulator/index.js';

export interface DemoCustomer {
  key: string;
  name: string;
  phone: string;
  processorId: string;
  customerId: string;
  pin: string;
  wallet: SavedWallet;
}

export interface DemoMerchant {
  key: string;
  name: string;
  processorId: string;
  merchantId: string;
  apiKey: string;
  webhookSecret: string;
  /** The key the demo's POS page uses (`rk_…`): it takes payments, and cannot refund. */
  tillKey?: string;
}

export interface DemoState {
  customers: DemoCustomer[];
  merchants: DemoMerchant[];
  useCases?: DemoUseCases;
  /** The hub's demo fee schedule was set (once; the operator may change it afterwards). */
  feesSeeded?: boolean;
}

/**
 * The demo's fee schedule at the hub: a merchant service charge of 1 % on purchases, taken by the merchant's
 * processor, 20 % of which it pays as interchange to the customer's processor.
 */
export const DEMO_FEES = [{ payee: '*', currency: '*', mscBps: 100, mscFixed: '0', interchangeBps: 2000 }];

const CUSTOMERS = [
  { key: 'anna', name: 'Anna Berger', phone: '+436641000001', processorId: 'bank-a', balance: 500_00n },
  { key: 'ben', name: 'Ben Okafor', phone: '+436761000002', processorId: 'mno-b', balance: 200_00n },
  { key: 'clara', name: 'Clara Novak', phone: '+436641000003', processorId: 'bank-a', balance: 75_00n },
  { key: 'dora', name: 'Dóra Kovács', phone: '+36301000004', processorId: 'bank-c', balance: 100_000_00n },
] as const;

const MERCHANTS = [
  { key: 'cafe', name: 'Café Central', city: 'Wien', category: '5812', processorId: 'mno-b' },
  { key: 'books', name: 'Bookshop Hofer', city: 'Graz', category: '5942', processorId: 'bank-a' },
  { key: 'bistro', name: 'Bistro Buda', city: 'Budapest', category: '5812', processorId: 'bank-c' },
] as const;

export function statePath(dir: string): string {
  return join(dir, 'demo.json');
}

export function loadState(dir: string): DemoState | undefined {
  const p = statePath(dir);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as DemoState) : undefined;
}

/** Seeds demo data once (and what a newer version added since); later starts reuse it. */
export async function seed(net: Network): Promise<DemoState> {
  const existing = loadState(net.dir);
  const state: DemoState = existing ?? { customers: [], merchants: [] };
  const missingCustomers = CUSTOMERS.filter((c) => !state.customers.some((s) => s.key === c.key));
  const missingMerchants = MERCHANTS.filter((m) => !state.merchants.some((s) => s.key === m.key));
  if (
    existing &&
    missingCustomers.length === 0 &&
    missingMerchants.length === 0 &&
    existing.feesSeeded &&
    existing.merchants.every((m) => m.tillKey !== undefined)
  ) {
    return existing;
  }
  if (!state.feesSeeded) {
    await new SettlementAdmin(net.hub.url, net.hub.adminToken).setFees(DEMO_FEES);
    state.feesSeeded = true;
  }
  for (const c of missingCustomers) {
    const p = net.processors.get(c.processorId)!;
    const created = await p.admin.createCustomer({ phone: c.phone, name: c.name, currency: p.spec.currency });
    await p.admin.deposit(created.customerId, c.balance);
    const wallet = await Wallet.enrol(p.url, c.phone, created.activationCode, '1234');
    state.customers.push({
      key: c.key,
      name: c.name,
      phone: c.phone,
      processorId: c.processorId,
      customerId: created.customerId,
      pin: '1234',
      wallet: wallet.export(),
    });
  }
  for (const m of missingMerchants) {
    const p = net.processors.get(m.processorId)!;
    const created = await p.admin.createMerchant({
      name: m.name,
      city: m.city,
      category: m.category,
      currency: p.spec.currency,
    });
    state.merchants.push({ key: m.key, name: m.name, processorId: m.processorId, ...created });
  }
  for (const m of state.merchants.filter((x) => x.tillKey === undefined)) {
    const p = net.processors.get(m.processorId)!;
    m.tillKey = (
      await json<{ key: string }>('POST', `${p.url}/v1/merchant/keys`, {
        token: m.apiKey,
        body: { label: 'Demo POS' },
      })
    ).key;
  }
  writeFileSync(statePath(net.dir), JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

export async function runDemo(dir: string, basePort: number, postgres?: string): Promise<void> {
  process.stdout.write(
    `Starting SEMOPS demo network in ${dir}${postgres ? ' on PostgreSQL (schemas demo_hub, demo_bank_a, …)' : ''} …\n`,
  );
  const net = await startNetwork({
    dir,
    ...(postgres ? { databaseUrl: postgres, schemaPrefix: 'demo_' } : {}),
    hubPort: basePort,
    processors: DEMO_PROCESSORS.map((p, i) => ({ ...p, port: basePort + 1 + i })),
    settlementInterval: '1h',
  });
  let state: DemoState;
  try {
    state = await seed(net);
  } catch (e) {
    await net.stop();
    throw e;
  }
  const lines: string[] = [];
  lines.push('', 'SEMOPS demo network is running:', '');
  lines.push(`  hub      ${net.hub.url}   (data: ${net.hub.dataDir})`);
  for (const p of net.processors.values()) {
    lines.push(
      `  ${p.id.padEnd(8)} ${p.url}   ${p.spec.name} (${p.spec.kind}, ${p.spec.currency}, routing prefix ${p.spec.routingPrefix})`,
    );
  }
  lines.push('', 'Customers (PIN 1234):');
  for (const c of state.customers) {
    const w = await Wallet.restore(c.wallet);
    const me = await w.me();
    lines.push(
      `  ${c.key.padEnd(6)} ${c.name.padEnd(14)} at ${c.processorId.padEnd(7)} balance ${formatMoney({ value: BigInt(me.balance.value), currency: me.balance.currency })}`,
    );
  }
  lines.push('', 'Merchants:');
  for (const m of state.merchants)
    lines.push(`  ${m.key.padEnd(6)} ${m.name.padEnd(16)} at ${m.processorId}  API key ${m.apiKey}`);
  lines.push(...(await webPageLines(net, state)));
  try {
    const fresh = loadState(net.dir) ?? state;
    const u = await seedUseCases(net, fresh.useCases, saveInto(statePath(net.dir), fresh));
    lines.push(...useCaseLines(u));
  } catch (e) {
    lines.push('', `(use-case demo data not available: ${e instanceof Error ? e.message : String(e)})`);
  }
  // Example web shop with the SEMOPS checkout button (packages/cli/src/shop), on port base+9.
  try {
    const shop = await startDemoShop(net, statePath(dir), basePort + 9);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shop.close());
    lines.push('', `Example shop: ${shop.url}/   (checkout button; orders turn paid by signed webhook)`);
  } catch (e) {
    lines.push('', `Example shop not started: ${e instanceof Error ? e.message : String(e)}`);
  }
  // Phone simulator (packages/cli/src/simulator): SMS and USSD as a feature phone, on port base+8.
  try {
    const sim = await startSimulator({
      net,
      phones: state.customers,
      port: basePort + 8,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void sim.close());
    lines.push('', `Phone simulator: ${sim.pageUrl}   (SMS and USSD *384# as a demo customer, PIN 1234)`);
  } catch (e) {
    lines.push('', `Phone simulator not started: ${e instanceof Error ? e.message : String(e)}`);
  }
  lines.push(
    '',
    'Try a payment in another terminal:',
    '  npx semops request --merchant cafe --amount 4.20      # prints the QR payload, link and short code',
    '  npx semops pay <short code or QR payload> --as anna    # Anna approves with her PIN',
    '  npx semops balances',
    '',
    'Cross-border (bank-c holds HUF; rates in .semops/network/rates.csv, reloaded when the file changes):',
    '  npx semops request --merchant cafe --amount 10.00     # an EUR request at mno-b …',
    '  npx semops pay <code> --as dora                        # … paid from HUF: the quote is shown first',
    '  npx semops request --merchant bistro --amount 5000.00  # a HUF request at bank-c, paid by ben in EUR',
    '',
    'Operator (fees, settlement windows, reports, liquidity, reconciliation):',
    '  npx semops fees | rates | liquidity | windows',
    '  npx semops windows close && npx semops report [--csv] && npx semops reconcile',
    '',
    'Health and metrics on every node (docs/operations.md): /health, /ready, and /metrics with its metrics token:',
    `  curl -H "Authorization: Bearer $(cat ${net.hub.dataDir}/secrets/metrics-token.secret)" ${net.hub.url}/metrics`,
    '',
    'Operator tokens are in .semops/<node>/secrets/. Press Ctrl-C to stop all nodes.',
    '',
  );
  process.stdout.write(lines.join('\n'));
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      process.stdout.write('\nStopping SEMOPS demo …\n');
      void net.stop().then(() => {
        process.stdout.write('All nodes stopped.\n');
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    for (const node of [net.hub, ...net.processors.values()]) {
      node.child.on('exit', (code, signal) => {
        if (!stopping) process.stderr.write(`${node.id} exited (${code ?? signal}); stopping the demo.\n`);
        stop();
      });
    }
  });
}

/**
 * The web pages each processor serves at /app/: the wallet of each demo customer, with a fresh activation
 * code to set up a browser as a new device with the customer's PIN (the CLI's saved devices keep working), and
 * the POS of each merchant.
 */
async function webPageLines(net: Network, state: DemoState): Promise<string[]> {
  const lines = ['', 'Web pages (each processor serves its own at /app/):'];
  for (const p of net.processors.values()) {
    lines.push(`  ${p.id.padEnd(8)} ${p.url}/app/`);
    for (const c of state.customers.filter((x) => x.processorId === p.id)) {
      const { activationCode } = await json<{ activationCode: string }>(
        'POST',
        `${p.url}/v1/admin/customers/${c.customerId}/activation`,
        { token: p.adminToken },
      );
      lines.push(
        `    wallet ${p.url}/app/wallet.html   ${c.key}: phone ${c.phone}, activation code ${activationCode}, PIN 1234`,
      );
    }
    for (const m of state.merchants.filter((x) => x.processorId === p.id)) {
      lines.push(
        `    POS    ${p.url}/app/pos.html      ${m.key}: paste till key ${m.tillKey ?? m.apiKey} (refunds: secret key)`,
      );
    }
  }
  return lines;
}
