/**
 * The phone network as the simulator plays it: the SMS and USSD gateway of every processor. A text or a
 * USSD step from a phone goes to the processor that serves the phone's number, through the processor's
 * gateway webhooks (docs/channels.md) with the gateway's shared secret, which stays on this side. Like a real
 * USSD gateway it keeps each session and sends the processor everything typed so far, joined by `*`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemopsError } from '@semops/protocol';
import { call, type HttpResult } from '../http.js';

/** A processor whose gateways the simulator plays. */
export interface SimulatorProcessor {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  /** The node's data directory: the gateway secret is `secrets/sms-gateway-token.secret` in it. */
  readonly dataDir: string;
  /** The operator token, for reading the texts sent to a phone. */
  readonly adminToken: string;
}

/** A phone number the simulator offers, and the processor that serves it. */
export interface SimulatorPhone {
  readonly phone: string;
  readonly name: string;
  readonly processorId: string;
}

export interface GatewayOptions {
  readonly processors: readonly SimulatorProcessor[];
  /** Numbers whose processor is known (the demo customers); others are looked up at every processor. */
  readonly phones?: readonly SimulatorPhone[];
  /** The USSD service code of SEMOPS; default `*384#`. */
  readonly serviceCode?: string;
  /** The short number texts are written to; default `384`. */
  readonly smsNumber?: string;
  /** A USSD session idle this long is closed, as networks do; default 180 s. */
  readonly sessionIdleMs?: number;
  readonly now?: () => number;
}

export interface SmsAnswer {
  readonly processorId: string;
  readonly replies: readonly string[];
}

export interface UssdAnswer {
  readonly sessionId: string;
  /** The processor that answered; absent when the network itself answered (unknown service code). */
  readonly processorId?: string;
  /** `CON`: the session waits for a reply; `END`: it is closed. */
  readonly status: 'CON' | 'END';
  readonly text: string;
}

export interface InboxMessage {
  /** `<processorId>:<message id>`, unique across processors. */
  readonly id: string;
  readonly processorId: string;
  readonly from: string;
  readonly text: string;
  readonly createdAt: number;
}

/**
 * How a processor answers a number it has no account for (packages/processor/src/channels/core.ts); the
 * simulator then asks the next processor.
 */
export const NOT_REGISTERED = 'This number has no account here';

const GATEWAY_TOKEN_FILE = join('secrets', 'sms-gateway-token.secret');
const MAX_SESSIONS = 500;
/** A dialled code: `*384#`, or with the menu choices appended, `*384*2#`. */
const DIAL = /^\*(\d{1,6})((?:\*\d{1,20}){0,5})#$/;

interface Session {
  readonly phone: string;
  readonly processor: SimulatorProcessor;
  /** The id the processor sees: fresh for every session, whatever id the page chose. */
  readonly gatewaySessionId: string;
  readonly serviceCode: string;
  inputs: readonly string[];
  busy: boolean;
  touchedAt: number;
}

/**
 * A phone number in E.164 form from what people type (`+43 664 100`, `0043664100`, `43664100`), or
 * undefined: the same reading as the processors' gateways.
 */
export function normalizePhone(raw: string): string | undefined {
  let s = raw.trim().replace(/[\s().-]/g, '');
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  else if (/^\d/.test(s)) s = `+${s}`;
  return /^\+[1-9]\d{6,14}$/.test(s) ? s : undefined;
}

/**
 * Creates the gateway the simulator's HTTP edge calls.
 * @example
 *   const gw = createSimulatedGateway({ processors });
 *   const a = await gw.ussd('s1', '+436641000001', '*384#'); // { status: 'CON', text: 'SEMOPS\n1 Send money…' }
 */
export function createSimulatedGateway(opts: GatewayOptions) {
  const processors = opts.processors;
  if (processors.length === 0) throw new Error('the phone simulator needs at least one processor');
  const byId = new Map(processors.map((p) => [p.id, p]));
  const serviceCode = opts.serviceCode ?? '*384#';
  const smsNumber = opts.smsNumber ?? '384';
  const idleMs = opts.sessionIdleMs ?? 180_000;
  const now = opts.now ?? Date.now;
  const tokens = new Map<string, string>();
  const sessions = new Map<string, Session>();
  /** Phone → its processor: the demo customers, and numbers found by asking the processors. */
  const homes = new Map<string, SimulatorProcessor>();
  for (const ph of opts.phones ?? []) {
    const p = byId.get(ph.processorId);
    const phone = normalizePhone(ph.phone);
    if (p && phone) homes.set(phone, p);
  }

  function gatewayToken(p: SimulatorProcessor): string {
    let t = tokens.get(p.id);
    if (t === undefined) {
      try {
        t = readFileSync(join(p.dataDir, GATEWAY_TOKEN_FILE), 'utf8').trim();
      } catch (e) {
        throw new SemopsError(
          'PARTICIPANT_UNREACHABLE',
          `The gateway secret of ${p.id} is not readable (${p.dataDir}/${GATEWAY_TOKEN_FILE}); has it started?`,
          undefined,
          { cause: e },
        );
      }
      tokens.set(p.id, t);
    }
    return t;
  }

  /** Calls a processor's gateway webhook; a 401 re-reads the secret once (the node may have made a new one). */
  async function webhook<T>(p: SimulatorProcessor, path: string, body: unknown): Promise<T> {
    let r: HttpResult<T> | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = gatewayToken(p);
      r = await reach(() =>
        call<T>('POST', `${p.url}${path}`, {
          headers: { 'x-gateway-token': token },
          body,
          timeoutMs: 30_000,
        }),
      );
      if (r.status !== 401) break;
      tokens.delete(p.id);
    }
    return answerOf(p, r!);
  }

  async function reach<T>(f: () => Promise<HttpResult<T>>): Promise<HttpResult<T>> {
    try {
      return await f();
    } catch (e) {
      throw new SemopsError(
        'PARTICIPANT_UNREACHABLE',
        'A processor did not answer; is the network running?',
        undefined,
        { cause: e },
      );
    }
  }

  function answerOf<T>(p: SimulatorProcessor, r: HttpResult<T>): T {
    if (r.status >= 200 && r.status < 300) return r.body;
    const err = (r.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const why = typeof err?.message === 'string' ? `: ${err.message}` : '';
    throw new SemopsError('PARTICIPANT_UNREACHABLE', `${p.name} answered HTTP ${r.status}${why}`);
  }

  /**
   * The processor that has an account for `phone`, asked with a USSD dial (which changes nothing at the
   * processor) when the number is not known yet; undefined when none has.
   */
  async function homeOf(phone: string): Promise<SimulatorProcessor | undefined> {
    const known = homes.get(phone);
    if (known) return known;
    for (const p of processors) {
      const a = await webhook<unknown>(p, '/v1/channels/ussd', {
        sessionId: `sim_probe_${randomUUID()}`,
        serviceCode,
        phoneNumber: phone,
        text: '',
      });
      if (typeof a === 'string' && !a.startsWith(`END ${NOT_REGISTERED}`)) {
        homes.set(phone, p);
        return p;
      }
    }
    return undefined;
  }

  /** Where a phone's texts and sessions go: its processor, or the first one, which answers "no account". */
  async function route(phone: string): Promise<SimulatorProcessor> {
    return (await homeOf(phone)) ?? processors[0]!;
  }

  function dropIdleSessions(): void {
    const t = now();
    for (const [id, s] of sessions) if (!s.busy && t - s.touchedAt > idleMs) sessions.delete(id);
    // Bounded memory: the oldest sessions go first (a Map keeps insertion order).
    for (const id of sessions.keys()) {
      if (sessions.size <= MAX_SESSIONS) break;
      sessions.delete(id);
    }
  }

  return {
    serviceCode,
    smsNumber,

    /** The demo phones, for the page's number picker. */
    phones(): SimulatorPhone[] {
      return (opts.phones ?? []).map((p) => ({ phone: p.phone, name: p.name, processorId: p.processorId }));
    },

    processors(): Array<{ id: string; name: string }> {
      return processors.map((p) => ({ id: p.id, name: p.name }));
    },

    /** Delivers a text from `phone` to its processor and returns the processor's reply. */
    async sms(phone: string, text: string): Promise<SmsAnswer> {
      const p = await route(phone);
      const a = await webhook<{ replies?: unknown }>(p, '/v1/channels/sms/inbound', {
        id: `sim_${randomUUID()}`,
        from: phone,
        to: smsNumber,
        text,
      });
      const replies = Array.isArray(a.replies) ? a.replies.filter((x) => typeof x === 'string') : [];
      return { processorId: p.id, replies };
    },

    /**
     * One USSD step. A session starts with a dialled code (`*384#`, or `*384*4#` with the first choice) under
     * a new `sessionId`; each later step sends one reply. `END` closes the session.
     */
    async ussd(sessionId: string, phone: string, text: string): Promise<UssdAnswer> {
      dropIdleSessions();
      let s = sessions.get(sessionId);
      if (!s) {
        const dial = DIAL.exec(text);
        if (!dial) throw new SemopsError('USSD_SESSION_NOT_FOUND');
        const code = `*${dial[1]}#`;
        if (code !== serviceCode) {
          return {
            sessionId,
            status: 'END',
            text: `Unknown service code ${code}. Dial ${serviceCode} for SEMOPS.`,
          };
        }
        // Claimed before the first await, so a second dial with the same id waits its turn.
        s = {
          phone,
          processor: processors[0]!,
          gatewaySessionId: `sim_${randomUUID()}`,
          serviceCode: code,
          inputs: dial[2] ? dial[2].slice(1).split('*') : [],
          busy: true,
          touchedAt: now(),
        };
        sessions.set(sessionId, s);
        try {
          s = { ...s, processor: await route(phone) };
          sessions.set(sessionId, s);
        } catch (e) {
          sessions.delete(sessionId);
          throw e;
        }
      } else {
        if (s.phone !== phone) throw new SemopsError('USSD_SESSION_OTHER_PHONE');
        if (s.busy) throw new SemopsError('USSD_SESSION_BUSY');
        s.inputs = [...s.inputs, text];
        s.busy = true;
      }
      let raw: unknown;
      try {
        raw = await webhook<unknown>(s.processor, '/v1/channels/ussd', {
          sessionId: s.gatewaySessionId,
          serviceCode: s.serviceCode,
          phoneNumber: phone,
          text: s.inputs.join('*'),
        });
      } catch (e) {
        // As on a real network, a failed step ends the session.
        sessions.delete(sessionId);
        throw e;
      }
      s.busy = false;
      s.touchedAt = now();
      const m = typeof raw === 'string' ? /^(CON|END)(?: |$)([\s\S]*)$/.exec(raw) : null;
      if (!m) {
        sessions.delete(sessionId);
        throw new SemopsError('PARTICIPANT_UNREACHABLE', `${s.processor.name} answered neither CON nor END.`);
      }
      const status = m[1] === 'CON' ? 'CON' : 'END';
      if (status === 'END') sessions.delete(sessionId);
      return { sessionId, processorId: s.processor.id, status, text: m[2] ?? '' };
    },

    /** Texts sent to `phone`, newest first, read through the operator API of its processor (or of all). */
    async inbox(phone: string, limit = 50): Promise<InboxMessage[]> {
      const home = homes.get(phone);
      const lists = await Promise.all(
        (home ? [home] : processors).map(async (p) => {
          const q = new URLSearchParams({ to: phone, limit: String(limit) });
          const r = await reach(() =>
            call<{ messages?: unknown }>('GET', `${p.url}/v1/admin/sms?${q}`, { token: p.adminToken }),
          );
          const body = answerOf(p, r);
          const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
          return messages.filter(isStoredSms).map((m): InboxMessage => ({
            id: `${p.id}:${m.id}`,
            processorId: p.id,
            from: m.service,
            text: m.text,
            createdAt: m.createdAt,
          }));
        }),
      );
      return lists
        .flat()
        .sort((a, b) => b.createdAt - a.createdAt || seqOf(b) - seqOf(a))
        .slice(0, limit);
    },
  };
}

export type SimulatedGateway = ReturnType<typeof createSimulatedGateway>;

/** The processor's message id, which grows with time: orders texts stored in the same millisecond. */
function seqOf(m: InboxMessage): number {
  return Number(m.id.slice(m.id.lastIndexOf(':') + 1));
}

function isStoredSms(
  m: unknown,
): m is { id: number; direction: string; service: string; text: string; createdAt: number } {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return (
    typeof r.id === 'number' &&
    r.direction === 'out' &&
    typeof r.service === 'string' &&
    typeof r.text === 'string' &&
    typeof r.createdAt === 'number'
  );
}
