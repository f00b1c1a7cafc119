/**
 * Starts a SEMOPS network on this machine: the hub and each processor as its own OS process with its own
 * data directory, registers the processors at the hub and funds their liquidity. Used by `semops demo`,
 * `semops scenarios` and the end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { HubAdmin, ProcessorAdmin } from './clients-admin.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Entry points of the compiled nodes (this file sits in cli/src or cli/dist: both are two levels down). */
export const HUB_MAIN = join(here, '..', '..', 'hub', 'dist', 'main.js');
export const PROCESSOR_MAIN = join(here, '..', '..', 'processor', 'dist', 'main.js');

export interface ProcessorSpec {
  readonly id: string;
  readonly name: string;
  readonly kind: 'bank' | 'mno';
  /** The currency its customers' and merchants' accounts are held in. */
  readonly currency: string;
  readonly routingPrefix: string;
  readonly country: string;
  /** Liquidity deposited at the hub (net debit cap) in `currency`, minor units. */
  readonly liquidity: bigint;
  /** Further currencies it clears at the hub (to pay merchants abroad), with the liquidity deposited in each. */
  readonly clears?: Readonly<Record<string, bigint>>;
  /** Its currency conversion: spread over the network's reference rates file, fixed fee, quote validity. */
  readonly fx?: { readonly spreadBps: number; readonly feeFixed?: bigint; readonly quoteTtlMs?: number };
  readonly port?: number;
}

/** The reference rates every processor of the demo network converts at (before its own spread). */
export const REFERENCE_RATES = `# base,quote,rate: 1 base = rate quote (daily reference rates)
EUR,HUF,392.45
`;

export const DEMO_PROCESSORS: readonly ProcessorSpec[] = [
  {
    id: 'bank-a',
    name: 'Bank A',
    kind: 'bank',
    currency: 'EUR',
    routingPrefix: '101',
    country: 'AT',
    liquidity: 1_000_000_00n,
  },
  {
    id: 'mno-b',
    name: 'Mobile B',
    kind: 'mno',
    currency: 'EUR',
    routingPrefix: '202',
    country: 'AT',
    liquidity: 1_000_000_00n,
    clears: { HUF: 400_000_000_00n },
    fx: { spreadBps: 40 },
  },
  {
    id: 'bank-c',
    name: 'Bank C',
    kind: 'bank',
    currency: 'HUF',
    routingPrefix: '303',
    country: 'HU',
    liquidity: 400_000_000_00n,
    clears: { EUR: 1_000_000_00n },
    fx: { spreadBps: 50, feeFixed: 100_00n },
  },
];

export interface NodeHandle {
  readonly id: string;
  readonly url: string;
  readonly dataDir: string;
  readonly adminToken: string;
  child: ChildProcess;
  /** Restarts a stopped or killed node on the same data directory and port. */
  restart(): Promise<void>;
  /** Stops the node (SIGTERM, or the given signal). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** What the harness ({@link Ctx}) needs of a running network, whether its nodes are processes or not. */
export interface NetworkView {
  readonly hub: { readonly url: string; readonly adminToken: string; readonly admin: HubAdmin };
  readonly processors: ReadonlyMap<
    string,
    {
      readonly id: string;
      readonly url: string;
      readonly adminToken: string;
      readonly admin: ProcessorAdmin;
      readonly spec: ProcessorSpec;
    }
  >;
}

export interface Network extends NetworkView {
  readonly dir: string;
  readonly hub: NodeHandle & { admin: HubAdmin };
  readonly processors: ReadonlyMap<string, NodeHandle & { admin: ProcessorAdmin; spec: ProcessorSpec }>;
  /** Starts one more instance of a processor on the same PostgreSQL schema, keys and secrets. */
  addInstance(id: string): Promise<NodeHandle & { admin: ProcessorAdmin }>;
  stop(): Promise<void>;
}

export interface NetworkOptions {
  readonly dir: string;
  readonly processors?: readonly ProcessorSpec[];
  readonly hubPort?: number;
  readonly transferTtlMs?: number;
  /** Close settlement windows on this schedule, e.g. `1h` (default: only by command). */
  readonly settlementInterval?: string;
  /**
   * `postgres://…` to run every node on PostgreSQL (one schema per node, named `<schemaPrefix><node>`);
   * default: each node's SQLite file in its data directory.
   */
  readonly databaseUrl?: string;
  readonly schemaPrefix?: string;
  /** pino level of every node's log file (`SEMOPS_LOG_LEVEL`); `debug` logs a line per payment step. */
  readonly logLevel?: string;
  /** Where node output goes: inherit (demo), ignore, or a callback per line. */
  readonly onOutput?: (node: string, line: string) => void;
}

function waitReady(
  child: ChildProcess,
  name: string,
  onOutput?: (node: string, line: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let errBuf = '';
    let done = false;
    const timer = setTimeout(() => fail(new Error(`${name} did not start within 30 s\n${errBuf}`)), 30_000);
    function fail(e: Error) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(e);
    }
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        onOutput?.(name, line);
        if (!done && line.startsWith('{"event":"ready"')) {
          done = true;
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        }
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      errBuf = (errBuf + d.toString()).slice(-4000);
      onOutput?.(name, d.toString().trimEnd());
    });
    child.on('exit', (code, signal) =>
      fail(new Error(`${name} exited (${code ?? signal}) before it was ready\n${errBuf}`)),
    );
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

async function startNode(
  name: string,
  main: string,
  args: (port: number) => string[],
  dataDir: string,
  env: NodeJS.ProcessEnv,
  firstPort: number,
  onOutput?: (node: string, line: string) => void,
): Promise<NodeHandle> {
  mkdirSync(dataDir, { recursive: true });
  const launch = async (port: number) => {
    const child = spawn(process.execPath, [main, ...args(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const url = await waitReady(child, name, onOutput);
    return { child, url };
  };
  const first = await launch(firstPort);
  const tokenPath = join(dataDir, 'secrets', 'admin-token.secret');
  const handle: NodeHandle = {
    id: name,
    url: first.url,
    dataDir,
    adminToken: readFileSync(tokenPath, 'utf8').trim(),
    child: first.child,
    async restart() {
      const next = await launch(portOf(first.url));
      handle.child = next.child;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const c = handle.child;
      if (c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill(signal);
        if (signal === 'SIGTERM') setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
      });
    },
  };
  return handle;
}

/** Starts (or restarts, keeping data) a network in `dir`. */
export async function startNetwork(opts: NetworkOptions): Promise<Network> {
  const specs = opts.processors ?? DEMO_PROCESSORS;
  mkdirSync(opts.dir, { recursive: true });
  const keyPath = join(opts.dir, 'network', 'directory-key.secret');
  if (!existsSync(keyPath)) {
    mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 });
    writeFileSync(keyPath, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  const directoryKey = readFileSync(keyPath, 'utf8').trim();
  const hubDir = join(opts.dir, 'hub');
  // The reference rates file the processors reload when it changes (an operator replaces it daily).
  const ratesFile = join(opts.dir, 'network', 'rates.csv');
  if (!existsSync(ratesFile)) writeFileSync(ratesFile, REFERENCE_RATES);
  const processorArgs = (spec: ProcessorSpec, dataDir: string, port: number, extra: string[] = []) => [
    '--id',
    spec.id,
    '--name',
    spec.name,
    '--kind',
    spec.kind,
    ...[spec.currency, ...Object.keys(spec.clears ?? {})].flatMap((c) => ['--currency', c]),
    ...(spec.fx
      ? [
          '--rates-file',
          ratesFile,
          '--fx-spread-bps',
          String(spec.fx.spreadBps),
          ...(spec.fx.feeFixed ? ['--fx-fee', `${spec.currency}:${spec.fx.feeFixed}`] : []),
          ...(spec.fx.quoteTtlMs ? ['--quote-ttl-ms', String(spec.fx.quoteTtlMs)] : []),
        ]
      : []),
    '--prefix',
    spec.routingPrefix,
    '--country',
    spec.country,
    '--data-dir',
    dataDir,
    '--hub',
    hub.url,
    '--port',
    String(port),
    ...(opts.transferTtlMs ? ['--transfer-ttl-ms', String(opts.transferTtlMs)] : []),
    ...extra,
  ];
  // Each node gets its store (and log level) from the environment: unset for SQLite, or PostgreSQL with its own
  // schema.
  const dbEnv = (node: string): NodeJS.ProcessEnv => ({
    ...(opts.logLevel ? { SEMOPS_LOG_LEVEL: opts.logLevel } : {}),
    ...(opts.databaseUrl
      ? { SEMOPS_DATABASE_URL: opts.databaseUrl, SEMOPS_DATABASE_SCHEMA: `${opts.schemaPrefix ?? ''}${node}` }
      : { SEMOPS_DATABASE_URL: '', SEMOPS_DATABASE_SCHEMA: '' }),
  });
  const hubNode = await startNode(
    'hub',
    HUB_MAIN,
    (port) => [
      '--data-dir',
      hubDir,
      '--port',
      String(port),
      ...(opts.settlementInterval ? ['--settlement-interval', opts.settlementInterval] : []),
    ],
    hubDir,
    dbEnv('hub'),
    opts.hubPort ?? 0,
    opts.onOutput,
  );
  const hub = Object.assign(hubNode, { admin: new HubAdmin(hubNode.url, hubNode.adminToken) });
  const processors = new Map<string, NodeHandle & { admin: ProcessorAdmin; spec: ProcessorSpec }>();
  const instances: NodeHandle[] = [];
  try {
    await Promise.all(
      specs.map(async (spec) => {
        const dataDir = join(opts.dir, spec.id);
        const node = await startNode(
          spec.id,
          PROCESSOR_MAIN,
          (port) => processorArgs(spec, dataDir, port),
          dataDir,
          { SEMOPS_DIRECTORY_KEY: directoryKey, ...dbEnv(spec.id) },
          spec.port ?? 0,
          opts.onOutput,
        );
        const admin = new ProcessorAdmin(node.url, node.adminToken);
        await hub.admin.register(await admin.info(), node.url);
        processors.set(spec.id, Object.assign(node, { admin, spec }));
      }),
    );
    // Keep the order of the specs whatever order the processes became ready in.
    const started = new Map(processors);
    processors.clear();
    for (const spec of specs) processors.set(spec.id, started.get(spec.id)!);
    // Liquidity is deposited once per processor and currency, on the first start that has them.
    const fundedPath = join(opts.dir, 'network', 'liquidity.json');
    const funded = new Set<string>(
      existsSync(fundedPath) ? (JSON.parse(readFileSync(fundedPath, 'utf8')) as string[]) : [],
    );
    for (const spec of specs) {
      for (const [currency, value] of [
        [spec.currency, spec.liquidity] as const,
        ...Object.entries(spec.clears ?? {}),
      ]) {
        if (funded.has(`${spec.id}:${currency}`)) continue;
        await hub.admin.liquidity(spec.id, { value: value.toString(), currency }, 'deposit');
        funded.add(`${spec.id}:${currency}`);
        writeFileSync(fundedPath, JSON.stringify([...funded]));
      }
    }
  } catch (e) {
    await Promise.all([...processors.values()].map((p) => p.stop()));
    await hub.stop();
    throw e;
  }
  return {
    dir: opts.dir,
    hub,
    processors,
    async addInstance(id: string) {
      const first = processors.get(id);
      if (!first) throw new Error(`no processor ${id}`);
      if (!opts.databaseUrl) throw new Error('A second instance of a processor needs PostgreSQL.');
      // Same keys and secrets (the data directory), same schema; its own port; the hub keeps talking to the first.
      const node = await startNode(
        `${id}#${instances.length + 2}`,
        PROCESSOR_MAIN,
        (port) => processorArgs(first.spec, first.dataDir, port, ['--instance']),
        first.dataDir,
        { SEMOPS_DIRECTORY_KEY: directoryKey, ...dbEnv(id) },
        0,
        opts.onOutput,
      );
      instances.push(node);
      return Object.assign(node, { admin: new ProcessorAdmin(node.url, node.adminToken) });
    },
    async stop() {
      await Promise.all([...instances, ...processors.values()].map((p) => p.stop()));
      await hub.stop();
    },
  };
}
