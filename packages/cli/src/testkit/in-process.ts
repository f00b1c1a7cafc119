/**
 * A network in this process: the real hub and processors (`createHub`, `createProcessor`), each on its own
 * SQLite file and loopback port, talking signed HTTP to each other as separate processes do, all reading one
 * clock the test sets. For property tests that drive many payments through the real code, where starting
 * processes per case would cost too much; {@link Ctx} works on it as on a network of processes.
 *
 * @example
 * const clock = settableClock();
 * const net = await startInProcessNetwork({ dir, now: clock.now, processors: DEMO_PROCESSORS });
 * const ctx = new Ctx(net);
 * clock.advance(31_000); // past every quote's validity
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createHub } from '@semops/hub';
import { createProcessor, type ProcessorNode, type ProcessorOptions } from '@semops/processor';
import { HubAdmin, ProcessorAdmin } from '../clients-admin.js';
import type { NetworkView, ProcessorSpec } from '../network.js';

/** A clock that runs with real time, plus whatever the test has jumped forward. */
export function settableClock() {
  let offset = 0;
  return {
    now: (): number => Date.now() + offset,
    /** Jumps forward `ms` (a timeout passes at once); never back. */
    advance(ms: number): void {
      if (ms < 0) throw new Error('the clock only moves forward');
      offset += ms;
    },
  };
}

export interface InProcessOptions {
  readonly dir: string;
  /** Each processor's id, currencies (its own first, then what it clears) and hub liquidity in each. */
  readonly processors: readonly ProcessorSpec[];
  readonly now: () => number;
  /** Mid rates every converting processor starts with (`fx` in its spec), e.g. `[{ base: 'EUR', quote: 'HUF', rate: '392.45' }]`. */
  readonly rates?: NonNullable<ProcessorOptions['fx']>['rates'];
  readonly transferTtlMs?: number;
  /**
   * Where the other nodes reach node `id` (the hub or a processor) that listens at `url`: by default `url`
   * itself; a test may put a link in between (see `startFaultyLink`).
   */
  readonly via?: (id: string, url: string) => Promise<string>;
}

export interface InProcessNetwork extends NetworkView {
  close(): Promise<void>;
}

/** Starts the hub and the processors, registers each at the hub and deposits their liquidity. */
export async function startInProcessNetwork(opts: InProcessOptions): Promise<InProcessNetwork> {
  const hub = await createHub({
    dataDir: join(opts.dir, 'hub'),
    databaseUrl: join(opts.dir, 'hub', 'hub.db'),
    now: opts.now,
  });
  const via = opts.via ?? ((_id: string, url: string) => Promise.resolve(url));
  const hubAdmin = new HubAdmin(hub.url, hub.adminToken);
  const hubUrl = await via('hub', hub.url);
  const directoryKey = randomBytes(32).toString('base64url');
  const nodes: ProcessorNode[] = [];
  const processors = new Map<
    string,
    { id: string; url: string; adminToken: string; admin: ProcessorAdmin; spec: ProcessorSpec }
  >();
  try {
    for (const spec of opts.processors) {
      const dataDir = join(opts.dir, spec.id);
      const node = await createProcessor({
        id: spec.id,
        name: spec.name,
        kind: spec.kind,
        currencies: [spec.currency, ...Object.keys(spec.clears ?? {})],
        routingPrefix: spec.routingPrefix,
        country: spec.country,
        dataDir,
        databaseUrl: join(dataDir, `${spec.id}.db`),
        hubUrl,
        directoryKey,
        now: opts.now,
        ...(opts.transferTtlMs ? { transferTtlMs: opts.transferTtlMs } : {}),
        ...(spec.fx
          ? {
              fx: {
                spreadBps: spec.fx.spreadBps,
                ...(spec.fx.feeFixed ? { feeFixed: { [spec.currency]: spec.fx.feeFixed.toString() } } : {}),
                ...(spec.fx.quoteTtlMs ? { quoteTtlMs: spec.fx.quoteTtlMs } : {}),
                ...(opts.rates ? { rates: opts.rates } : {}),
              },
            }
          : {}),
      });
      nodes.push(node);
      const admin = new ProcessorAdmin(node.url, node.adminToken);
      await hubAdmin.register(await admin.info(), await via(spec.id, node.url));
      processors.set(spec.id, { id: spec.id, url: node.url, adminToken: node.adminToken, admin, spec });
    }
    for (const spec of opts.processors) {
      for (const [currency, value] of [
        [spec.currency, spec.liquidity] as const,
        ...Object.entries(spec.clears ?? {}),
      ])
        await hubAdmin.liquidity(spec.id, { value: value.toString(), currency }, 'deposit');
    }
  } catch (e) {
    for (const n of nodes) await n.close();
    await hub.close();
    throw e;
  }
  return {
    hub: { url: hub.url, adminToken: hub.adminToken, admin: hubAdmin },
    processors,
    async close() {
      for (const n of nodes) await n.close();
      await hub.close();
    },
  };
}
