/**
 * What the node remembers of a USSD session, since gateways send the whole session on every step and the menu
 * replays it: the answer of its final action (`ussd_sessions`, so that a gateway retry never acts twice), the
 * FX quote its PIN screen showed (`ussd_quotes`), and what it picked to pay (`ussd_picks`: a person looked up,
 * a bill or airtime asked for, a request from the inbox), so that the replays ask the payee's processor once
 * and keep paying what the customer saw. Rows are kept a day.
 */
import type { Sql } from '@semops/node';
import { isErrorCode } from '@semops/protocol';
import { refusal, type Said } from '../core.js';
import type { UssdRequest } from '../gateway.js';
import { quoteFromWire, quoteToWire, type OpenRequest, type Quote } from '../payees.js';

/** How long the answer of a finished session is kept for gateway retries. */
const SESSION_MEMORY_MS = 24 * 60 * 60_000;
/** How long a session pays what it picked before asking again (a P2P or bill request lives 10 minutes). */
const PICK_MEMORY_MS = 5 * 60_000;

export const BUSY_SESSION = 'Your request is being processed. Dial again to check your balance.';

/** What a session picked to pay: the request as shown, and the inbox item it answers, if any. */
export interface Pick {
  readonly quote: Quote;
  readonly item?: OpenRequest;
}

function pickToJson(p: Pick): string {
  const item = p.item ? { ...p.item, amount: p.item.amount.toString() } : undefined;
  return JSON.stringify({ quote: quoteToWire(p.quote), ...(item ? { item } : {}) });
}

function pickFromJson(text: string): Pick {
  const o = JSON.parse(text) as {
    quote: Record<string, unknown>;
    item?: Omit<OpenRequest, 'amount'> & { amount: string };
  };
  return {
    quote: quoteFromWire(o.quote),
    ...(o.item ? { item: { ...o.item, amount: BigInt(o.item.amount) } } : {}),
  };
}

export function createUssdSessions(deps: { readonly q: Sql; readonly now: () => number }) {
  const { q, now } = deps;
  const finish = (said: Said, sessionId: string) =>
    q.run`UPDATE ussd_sessions SET reply = ${said.text}, code = ${said.code ?? null}
      WHERE session_id = ${sessionId}`;

  const sessions = {
    /**
     * Runs the final action of a session once: a retry of the same session gets the first answer (or, while
     * the first is still running, a note that it is being processed).
     */
    async once(req: UssdRequest, action: () => Promise<Said>): Promise<Said> {
      // Gateways retry within seconds and close sessions within minutes: a day of sessions is plenty.
      await q.run`DELETE FROM ussd_sessions WHERE created_at < ${now() - SESSION_MEMORY_MS}`;
      const claimed = await q.run`INSERT INTO ussd_sessions (session_id, phone, created_at)
        VALUES (${req.sessionId}, ${req.phoneNumber}, ${now()}) ON CONFLICT DO NOTHING`;
      if (claimed !== 1) return (await sessions.earlier(req)) ?? { text: BUSY_SESSION };
      let said: Said;
      try {
        said = await action();
      } catch (e) {
        await finish(refusal(e), req.sessionId); // not a SemopsError (those are answers): outcome unknown
        throw e;
      }
      await finish(said, req.sessionId);
      return said;
    },

    /** The answer of a session that already reached its final action, if it did. */
    async earlier(req: UssdRequest): Promise<Said | undefined> {
      const r = await q.one<{
        phone: string;
        reply: string | null;
        code: string | null;
      }>`SELECT phone, reply, code FROM ussd_sessions WHERE session_id = ${req.sessionId}`;
      if (!r) return undefined;
      if (r.phone !== req.phoneNumber)
        return { text: 'Session error. Please dial again.', code: 'FORBIDDEN' };
      if (r.reply === null) return { text: BUSY_SESSION };
      return { text: r.reply, ...(isErrorCode(r.code) ? { code: r.code } : {}) };
    },

    /** Remembers the FX quote the session's PIN screen shows: the one its PIN pays at. */
    async showQuote(req: UssdRequest, quoteId: string): Promise<void> {
      const t = now();
      await q.run`DELETE FROM ussd_quotes WHERE created_at < ${t - SESSION_MEMORY_MS}`;
      await q.run`INSERT INTO ussd_quotes (session_id, phone, quote_id, created_at)
        VALUES (${req.sessionId}, ${req.phoneNumber}, ${quoteId}, ${t})
        ON CONFLICT (session_id) DO UPDATE SET quote_id = excluded.quote_id, created_at = excluded.created_at
          WHERE ussd_quotes.phone = excluded.phone`;
    },

    /** The FX quote the session's PIN screen showed last, if any. */
    async shownQuote(req: UssdRequest): Promise<string | undefined> {
      const r = await q.one<{ quote_id: string }>`SELECT quote_id FROM ussd_quotes
        WHERE session_id = ${req.sessionId} AND phone = ${req.phoneNumber}`;
      return r?.quote_id;
    },

    /**
     * What this session picked for `target` (what the customer typed or chose) when it picked it a moment ago,
     * else `resolve()`d now and kept with the session.
     */
    async pick(req: UssdRequest, target: string, resolve: () => Promise<Pick>): Promise<Pick> {
      const t = now();
      const kept = await q.one<{ target: string; pick: string; created_at: number | string }>`SELECT target,
          pick, created_at FROM ussd_picks WHERE session_id = ${req.sessionId} AND phone = ${req.phoneNumber}`;
      if (kept && kept.target === target && Number(kept.created_at) > t - PICK_MEMORY_MS) {
        return pickFromJson(kept.pick);
      }
      const picked = await resolve();
      await q.run`DELETE FROM ussd_picks WHERE created_at < ${t - SESSION_MEMORY_MS}`;
      await q.run`INSERT INTO ussd_picks (session_id, phone, target, pick, created_at)
        VALUES (${req.sessionId}, ${req.phoneNumber}, ${target}, ${pickToJson(picked)}, ${t})
        ON CONFLICT (session_id) DO UPDATE SET target = excluded.target, pick = excluded.pick,
          created_at = excluded.created_at
          WHERE ussd_picks.phone = excluded.phone`;
      return picked;
    },
  };
  return sessions;
}

export type UssdSessions = ReturnType<typeof createUssdSessions>;
