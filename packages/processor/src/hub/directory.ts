/**
 * Keeps the hub directory up to date with this processor's customers: their blinded aliases (never the
 * phone numbers) are registered in batches; the node runs `sync` periodically (`startLoop`) until the hub
 * has them all.
 */
import type { Sql } from '@semops/node';
import type { HubLink } from './link.js';

export function createDirectorySync(deps: { q: Sql; hub: Pick<HubLink, 'send'> }) {
  const { q } = deps;
  return {
    /** Registers up to 1000 aliases the hub does not have yet; throws when the hub cannot be reached. */
    async sync(): Promise<void> {
      const rows = await q.all<{
        alias: string;
      }>`SELECT alias FROM directory_aliases WHERE synced = 0 LIMIT 1000`;
      const aliases = rows.map((r) => r.alias);
      if (aliases.length === 0) return;
      await deps.hub.send('directory.register', { aliases });
      await q.tx(async (t) => {
        for (const a of aliases) await t.run`UPDATE directory_aliases SET synced = 1 WHERE alias = ${a}`;
      });
    },
  };
}
