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
import { HubAdmin, ProcessorAdmin } from './clients.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Entry points of the compiled nodes (this file sits in cli/src or cli/dist: both are two levels down). */
export const HUB_MAIN = join(here, '..', '..', 'hub', 'dist', 'main.js');
export const PROCESSOR_MAIN = join(here, '..', '..', 'processor', 'dist', 'main.js');

export interface ProcessorSpec {
  readonly id: string;
  readonly name: string;
  readonly kind: 'bank' | 'mno';
  readonly currency: string;
  readonly routingPrefix: string;
  readonly country: string;
  /** Liquidity deposited at the hub (net debit cap), minor units. */
  readonly liquidity: bigint;
  readonly port?: number;
}

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

export interface Network {
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
  /**
   * `postgres://…` to run every node on PostgreSQL (one schema per node, named `<schemaPrefix><node>`);
   * default: each node's SQLite file in its data directory.
   */
  readonly databaseUrl?: string;
  readonly schemaPrefix?: string;
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
  const processorArgs = (spec: ProcessorSpec, dataDir: string, port: number, extra: string[] = []) => [
    '--id',
    spec.id,
    '--name',
    spec.name,
    '--kind',
    spec.kind,
    '--currency',
    spec.currency,
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
  // Each node gets its store from the environment: unset for SQLite, or PostgreSQL with its own schema.
  const dbEnv = (node: string): NodeJS.ProcessEnv =>
    opts.databaseUrl
      ? { SEMOPS_DATABASE_URL: opts.databaseUrl, SEMOPS_DATABASE_SCHEMA: `${opts.schemaPrefix ?? ''}${node}` }
      : { SEMOPS_DATABASE_URL: '', SEMOPS_DATABASE_SCHEMA: '' };
  const hubNode = await startNode(
    'hub',
    HUB_MAIN,
    (port) => ['--data-dir', hubDir, '--port', String(port)],
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
    // Liquidity is deposited once, on the first start of the network.
    const funded = join(opts.dir, 'network', 'liquidity.done');
    if (!existsSync(funded)) {
      for (const spec of specs) {
        await hub.admin.liquidity(
          spec.id,
          { value: spec.liquidity.toString(), currency: spec.currency },
          'deposit',
        );
      }
      writeFileSync(funded, new Date().toISOString());
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
