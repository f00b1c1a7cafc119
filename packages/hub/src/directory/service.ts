/**
 * `directory.register` and `directory.lookup`: processors publish the blinded aliases of their customers so
 * that a payer processor can find which processor serves a phone number or `name@processor` address.
 */
import { SemopsError, blindedAlias } from '@semops/protocol';
import type { Writer } from '../shared/writer.js';
import type { DirectoryStore } from './store.js';

export interface DirectoryService {
  /** Registers aliases for the sending processor; returns how many were registered. */
  register(processorId: string, aliases: readonly string[]): Promise<{ registered: number }>;
  /** The processor serving an alias, or ALIAS_NOT_FOUND. */
  lookup(alias: string): Promise<{ processorId: string }>;
}

export function createDirectoryService(deps: {
  store: DirectoryStore;
  writer: Writer;
  now: () => number;
}): DirectoryService {
  return {
    async register(processorId, aliases) {
      const unique = [...new Set(aliases)];
      // Defence in depth: the message schema already refuses anything but 64 hex digits.
      if (!unique.every((a) => blindedAlias.safeParse(a).success)) {
        throw new SemopsError('VALIDATION_FAILED', 'Aliases must be blinded: 64 lowercase hex digits.');
      }
      await deps.writer.write((tx) => deps.store.register(tx, unique, processorId, deps.now()));
      return { registered: unique.length };
    },
    async lookup(alias) {
      const processorId = await deps.store.lookup(alias);
      if (processorId === undefined) throw new SemopsError('ALIAS_NOT_FOUND');
      return { processorId };
    },
  };
}
