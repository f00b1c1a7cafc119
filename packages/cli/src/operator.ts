/**
 * The operator's commands for cross-border settlement (issue 5), against a running demo network: exchange
 * rates and FX configuration of a processor, the hub's fee schedule, settlement windows and reports,
 * liquidity, and reconciliation. Arguments are checked (operator-args.ts) before any request is sent: bad
 * input is one line on stderr and exit code 2. Output for people is in operator-format.ts; `--json` prints
 * what the nodes answered.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemopsError, formatMoney } from '@semops/protocol';
import { json } from './http.js';
import { SettlementAdmin, FxAdmin } from './clients-settlement.js';
import {
  OPERATOR_HELP,
  UsageError,
  parseOperatorArgs,
  type CustomerAction,
  type OperatorCommand,
  type OperatorCommandName,
} from './operator-args.js';
import {
  amount,
  formatFees,
  formatFx,
  formatReconcile,
  formatReport,
  formatKeys,
  formatWindows,
  money,
  type KeysView,
  table,
} from './operator-format.js';
import { pickWindow, reconcileWindow, type ReconcileTargets } from './reconcile.js';

export {
  OPERATOR_COMMANDS,
  OPERATOR_HELP,
  UsageError,
  isOperatorCommand,
  parseMoneyArg,
  parseOperatorArgs,
  type OperatorCommand,
  type OperatorCommandName,
  type ParsedOperatorArgs,
} from './operator-args.js';

export interface OperatorNodes extends ReconcileTargets {
  readonly dir: string;
}

/** The hub and processors of the demo network in `dir` (their URLs and admin tokens). */
export function demoNodes(dir: string): OperatorNodes {
  if (!existsSync(join(dir, 'hub', 'node.json'))) {
    throw new Error(`No demo network in ${dir}: start one with 'npm start' first.`);
  }
  const read = (name: string) => {
    const node = JSON.parse(readFileSync(join(dir, name, 'node.json'), 'utf8')) as {
      id?: string;
      url: string;
    };
    const tokenPath = join(dir, name, 'secrets', 'admin-token.secret');
    if (!existsSync(tokenPath)) throw new Error(`No admin token for ${name} in ${tokenPath}.`);
    return { id: node.id ?? name, url: node.url, adminToken: readFileSync(tokenPath, 'utf8').trim() };
  };
  const processors = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'hub' && existsSync(join(dir, d.name, 'node.json')))
    .map((d) => read(d.name))
    .sort((a, b) => a.id.localeCompare(b.id));
  const { url, adminToken } = read('hub');
  return { dir, hub: { url, adminToken }, processors };
}

/** The processors a command names must be in the network (caught before any request). */
export function checkProcessors(command: OperatorCommand, nodes: OperatorNodes): void {
  const named: string[] = [];
  if ('processor' in command && command.processor !== undefined) named.push(command.processor);
  if (command.kind === 'fees-set' && command.entry.payee !== '*') named.push(command.entry.payee);
  if (command.kind === 'fees-clear' && command.match && command.match.payee !== '*')
    named.push(command.match.payee);
  const ids = nodes.processors.map((p) => p.id);
  for (const pid of named) {
    if (!ids.includes(pid)) {
      throw new UsageError(`no processor ${pid} in the network in ${nodes.dir}; there are ${ids.join(', ')}`);
    }
  }
}

export interface OperatorIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

const STDIO: OperatorIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Runs a parsed command against the network; returns the exit code. */
export async function runOperatorCommand(
  command: OperatorCommand,
  nodes: OperatorNodes,
  opts: { json: boolean; out: (text: string) => void },
): Promise<number> {
  const hub = new SettlementAdmin(nodes.hub.url, nodes.hub.adminToken);
  const processor = (pid: string) => {
    const p = nodes.processors.find((x) => x.id === pid);
    if (!p) throw new UsageError(`no processor ${pid}`);
    return new FxAdmin(p.url, p.adminToken);
  };
  const emit = (value: unknown, text: () => string) =>
    opts.out(opts.json ? `${JSON.stringify(value, null, 2)}\n` : text());
  switch (command.kind) {
    case 'help':
      opts.out(OPERATOR_HELP);
      return 0;
    case 'rates': {
      const ids = command.processor ? [command.processor] : nodes.processors.map((p) => p.id);
      const all = await Promise.all(
        ids.map(async (id) => ({ processorId: id, ...(await processor(id).fx()) })),
      );
      emit(all, () => all.map((fx) => formatFx(fx.processorId, fx)).join('\n'));
      return 0;
    }
    case 'rates-set': {
      const admin = processor(command.processor);
      const { rates } = await admin.fx();
      const { base, quote, rate } = command;
      const same = (r: { base: string; quote: string }) =>
        (r.base === base && r.quote === quote) || (r.base === quote && r.quote === base);
      const next = [
        ...rates.filter((r) => !same(r)).map((r) => ({ base: r.base, quote: r.quote, rate: r.rate })),
        { base, quote, rate },
      ];
      const fx = await admin.setRates(next);
      emit(
        fx,
        () => `${command.processor}: 1 ${base} = ${rate} ${quote}\n\n${formatFx(command.processor, fx)}`,
      );
      return 0;
    }
    case 'rates-reload': {
      const fx = await processor(command.processor).reload();
      emit(fx, () => `${command.processor}: rates file reloaded\n\n${formatFx(command.processor, fx)}`);
      return 0;
    }
    case 'fx-config': {
      const admin = processor(command.processor);
      if (!command.change) {
        const fx = await admin.fx();
        emit(fx, () => formatFx(command.processor, fx));
        return 0;
      }
      const change = command.change;
      // A fee for one currency leaves the fees of the others as they are.
      const feeFixed = change.feeFixed ? { ...(await admin.fx()).feeFixed, ...change.feeFixed } : undefined;
      const fx = await admin.setConfig({ ...change, ...(feeFixed ? { feeFixed } : {}) });
      emit(fx, () => formatFx(command.processor, fx));
      return 0;
    }
    case 'fees': {
      const entries = await hub.fees();
      emit({ entries }, () => formatFees(entries));
      return 0;
    }
    case 'fees-set': {
      const e = command.entry;
      const current = await hub.fees();
      const next = [...current.filter((x) => !(x.payee === e.payee && x.currency === e.currency)), e];
      const entries = await hub.setFees(next);
      emit({ entries }, () => formatFees(entries));
      return 0;
    }
    case 'fees-clear': {
      const current = await hub.fees();
      const m = command.match;
      const next = m ? current.filter((x) => !(x.payee === m.payee && x.currency === m.currency)) : [];
      if (m && next.length === current.length) {
        throw new Error(
          `The fee schedule has no entry for payee ${m.payee} and currency ${m.currency}; nothing changed.`,
        );
      }
      const entries = await hub.setFees(next);
      emit({ entries }, () => formatFees(entries));
      return 0;
    }
    case 'windows': {
      const windows = await hub.windows();
      emit({ windows }, () => formatWindows(windows));
      return 0;
    }
    case 'windows-close': {
      const report = await hub.closeWindow(command.windowId);
      emit(report, () => formatReport(report));
      return 0;
    }
    case 'report': {
      const windowId = command.windowId ?? pickWindow(await hub.windows()).windowId;
      if (command.csv) {
        const csv = await hub.reportCsv(windowId);
        opts.out(csv.endsWith('\n') || csv === '' ? csv : `${csv}\n`);
        return 0;
      }
      const report = await hub.report(windowId);
      emit(report, () => formatReport(report));
      return 0;
    }
    case 'liquidity': {
      const positions = await hub.positions();
      emit({ positions }, () =>
        positions.length === 0
          ? 'No positions.\n'
          : table(
              ['PROCESSOR', 'CURRENCY', 'LIQUIDITY', 'POSITION (OWES)', 'RESERVED', 'AVAILABLE'],
              positions.map((p) => [
                p.processorId,
                p.currency,
                amount(p.liquidity, p.currency),
                amount(p.position, p.currency),
                amount(p.reserved, p.currency),
                amount(p.available, p.currency),
              ]),
              [2, 3, 4, 5],
            ),
      );
      return 0;
    }
    case 'liquidity-change': {
      const { processor: pid, direction, amount: a } = command;
      const p = await hub.liquidity(pid, a, direction);
      emit(
        p,
        () =>
          `${direction === 'deposit' ? 'Deposited' : 'Withdrew'} ${money(a.value, a.currency)} ${direction === 'deposit' ? 'for' : 'from'} ${pid}: ` +
          `liquidity ${money(p.liquidity, p.currency)}, available ${money(p.available, p.currency)}\n`,
      );
      return 0;
    }
    case 'reconcile': {
      const result = await reconcileWindow(nodes, command.windowId);
      emit(result, () => formatReconcile(result));
      return result.differences.length === 0 ? 0 : 1;
    }
    case 'audit-verify': {
      const all = [{ id: 'hub', ...nodes.hub }, ...nodes.processors];
      const results = await Promise.all(
        all.map(async (n) => ({
          node: n.id,
          ...(await json<{ ok: boolean; entries: number; head: string; problems: string[] }>(
            'GET',
            `${n.url}/v1/admin/audit/verify`,
            { token: n.adminToken },
          )),
        })),
      );
      emit(results, () =>
        results
          .map((r) =>
            r.ok
              ? `${r.node.padEnd(8)} ok: ${r.entries} entries, head ${r.head.slice(0, 16)}…\n`
              : `${r.node.padEnd(8)} TAMPERED: ${r.problems.join('; ')}\n`,
          )
          .join(''),
      );
      return results.every((r) => r.ok) ? 0 : 1;
    }
    case 'keys':
    case 'keys-rotate':
    case 'keys-retire': {
      const all = [{ id: 'hub', ...nodes.hub }, ...nodes.processors];
      const named = command.node === undefined ? all : all.filter((n) => n.id === command.node);
      if (named.length === 0) {
        throw new UsageError(
          `no node ${command.node} in the network in ${nodes.dir}; there are ${all.map((n) => n.id).join(', ')}`,
        );
      }
      const call = (n: (typeof all)[number]) => {
        const admin = { token: n.adminToken };
        if (command.kind === 'keys-rotate') {
          const body = command.overlapMs === undefined ? {} : { overlapMs: command.overlapMs };
          return json<KeysView>('POST', `${n.url}/v1/admin/keys/rotate`, { ...admin, body });
        }
        if (command.kind === 'keys-retire') {
          const body = command.kid === undefined ? {} : { kid: command.kid };
          return json<KeysView>('POST', `${n.url}/v1/admin/keys/retire`, { ...admin, body });
        }
        return json<KeysView>('GET', `${n.url}/v1/admin/keys`, admin);
      };
      const views = await Promise.all(named.map(call));
      emit(command.node === undefined ? views : views[0], () => views.map(formatKeys).join(''));
      return 0;
    }
    case 'customers': {
      const p = nodes.processors.find((x) => x.id === command.processor);
      if (!p) throw new UsageError(`no processor ${command.processor}`);
      const result = await customerCare(p, command.action, command.customer);
      emit(result, () => formatCustomerCare(command.action, result));
      return 0;
    }
    default: {
      const never: never = command;
      throw new Error(`unhandled command ${JSON.stringify(never)}`);
    }
  }
}

interface CustomerView {
  readonly id: string;
  readonly name: string;
  readonly phone: string;
  readonly currency: string;
  readonly status: 'active' | 'blocked';
  readonly pinLocked: boolean;
  readonly balance: string;
  readonly available: string;
}

/**
 * A customer-care action at a processor, through its admin API; `who` is a customer id or a phone number.
 * Returns the customer as it is afterwards (and, for reset-pin, the activation code to give them).
 */
async function customerCare(
  p: { url: string; adminToken: string },
  action: CustomerAction,
  who: string,
): Promise<{ customer: CustomerView; activationCode?: string }> {
  const admin = { token: p.adminToken };
  const base = `${p.url}/v1/admin/customers`;
  const find = () =>
    json<CustomerView>(
      'GET',
      who.startsWith('+') ? `${base}?phone=${encodeURIComponent(who)}` : `${base}/${who}`,
      admin,
    );
  const { id } = await find();
  let activationCode: string | undefined;
  switch (action) {
    case 'show':
      break;
    case 'block':
    case 'unblock':
    case 'unlock':
      await json('POST', `${base}/${id}/${action}`, admin);
      break;
    case 'reset-pin':
      ({ activationCode } = await json<{ activationCode: string }>('POST', `${base}/${id}/activation`, {
        ...admin,
        body: { resetPin: true },
      }));
      break;
  }
  const customer = await json<CustomerView>('GET', `${base}/${id}`, admin);
  return activationCode === undefined ? { customer } : { customer, activationCode };
}

function formatCustomerCare(
  action: CustomerAction,
  r: { customer: CustomerView; activationCode?: string },
): string {
  const c = r.customer;
  const money = (v: string) => formatMoney({ value: BigInt(v), currency: c.currency });
  const lines = [
    `${c.name} (${c.id}, ${c.phone}): ${c.status}${c.pinLocked ? ', PIN locked' : ''}; balance ${money(c.balance)}, available ${money(c.available)}`,
  ];
  if (action === 'reset-pin' && r.activationCode) {
    lines.push(
      `PIN cleared. Activation code for the customer's phone: ${r.activationCode} (the phone sets the new PIN)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function errorLine(e: unknown): string {
  if (e instanceof SemopsError) {
    const details = e.details === undefined ? '' : ` ${JSON.stringify(e.details)}`;
    return `${e.code}: ${e.message}${details}`;
  }
  const cause = (e as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = (e as { code?: unknown } | undefined)?.code ?? cause?.code;
  if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `${e instanceof Error ? e.message : String(e)}: is the demo network running? Start it with 'npm start'.`;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * `semops <command> …` for the operator commands: parse, check, run. Exit codes: 0 done, 1 failed (or
 * differences found by reconcile), 2 bad input (nothing sent).
 */
export async function operatorMain(
  name: OperatorCommandName,
  args: readonly string[],
  io: OperatorIo = STDIO,
): Promise<number> {
  try {
    const parsed = parseOperatorArgs(name, args, io.env ?? process.env);
    if (parsed.command.kind === 'help') {
      io.out(OPERATOR_HELP);
      return 0;
    }
    const nodes = demoNodes(parsed.dir);
    checkProcessors(parsed.command, nodes);
    return await runOperatorCommand(parsed.command, nodes, { json: parsed.json, out: io.out });
  } catch (e) {
    io.err(`${errorLine(e)}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
