/**
 * Keeps the hub directory up to date with this processor's customers: their blinded aliases (never the
 * phone numbers) are registered in batches, retried until the hub has them.
 */
import type { Sql } from '@semops/node';
import type { HubLink } from './link.js';

export function createDirectorySync(deps: {
  q: Sql;
  hub: HubLink;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}) {
  const { q } = deps;
  let timer: NodeJS.Timeout | undefined;
  let busy = false;
  async function sync(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      const rows = await q.all<{
        alias: string;
      }>`SELECT alias FROM directory_aliases WHERE synced = 0 LIMIT 1000`;
      const aliases = rows.map((r) => r.alias);
      if (aliases.length === 0) return;
      await deps.hub.send('directory.register', { aliases });
      await q.tx(async (t) => {
        for (const a of aliases) await t.run`UPDATE directory_aliases SET synced = 1 WHERE alias = ${a}`;
      });
    } catch (e) {
      deps.log('directory sync failed; will retry', { err: String(e) });
    } finally {
      busy = false;
    }
  }
  return {
    sync,
    start() {
      timer = setInterval(() => void sync(), 2000);
      timer.unref();
      void sync();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
