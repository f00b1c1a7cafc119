import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SemopsError } from '@semops/protocol';
import { startNetwork, type TestNetwork } from '../testing/network.js';
import { describeEngines } from '../testing/engines.js';

let net: TestNetwork;

describeEngines('directory', (engine) => {
  beforeAll(async () => {
    net = await startNetwork(engine.options());
  });
  afterAll(async () => {
    await net?.close();
  });

  /** What processors do with the directory key the hub never holds. */
  const blind = (phone: string) => createHmac('sha256', 'network-directory-key').update(phone).digest('hex');

  describe('directory', () => {
    it('registers blinded aliases for the sender and finds their processor', async () => {
      const alice = blind('+43660111222');
      const bob = blind('+43660333444');
      expect(await net.a.send('directory.register', { aliases: [alice, bob, alice] })).toEqual({
        registered: 2,
      });
      expect(await net.b.send('directory.lookup', { alias: alice })).toEqual({ processorId: 'bank-a' });
      expect(await net.a.send('directory.lookup', { alias: bob })).toEqual({ processorId: 'bank-a' });
    });

    it('moves an alias to the processor that registers it last', async () => {
      const carol = blind('+254700000001');
      await net.a.send('directory.register', { aliases: [carol] });
      await net.b.send('directory.register', { aliases: [carol] });
      expect(await net.a.send('directory.lookup', { alias: carol })).toEqual({ processorId: 'mno-b' });
    });

    it('answers ALIAS_NOT_FOUND for an unknown alias', async () => {
      const err = await net.a
        .send('directory.lookup', { alias: blind('+10000000000') })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SemopsError);
      expect((err as SemopsError).code).toBe('ALIAS_NOT_FOUND');
    });

    it('never takes a phone number or anything but a blinded alias', async () => {
      for (const body of [
        { aliases: ['+43660111222'] },
        { aliases: [blind('+1').toUpperCase()] },
        { aliases: [] },
      ]) {
        const err = await net.a.send('directory.register', body).catch((e: unknown) => e);
        expect((err as SemopsError).code).toBe('VALIDATION_FAILED');
      }
      const err = await net.a.send('directory.lookup', { alias: '+43660111222' }).catch((e: unknown) => e);
      expect((err as SemopsError).code).toBe('VALIDATION_FAILED');
    });
  });
});
