import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '@semops/protocol';
import { startNetwork, type TestNetwork } from '../testing/network.js';
import { describeEngines } from '../testing/engines.js';
import type { PositionView } from './service.js';

let net: TestNetwork;

describeEngines('positions', (engine) => {
  beforeAll(async () => {
    net = await startNetwork(engine.options());
  });
  afterAll(async () => {
    await net?.close();
  });

  const liquidity = (
    processorId: string,
    value: string,
    direction: 'deposit' | 'withdraw',
    currency = 'EUR',
  ) => ({
    processorId,
    amount: { value, currency },
    direction,
  });

  describe('liquidity and positions', () => {
    it('starts every registered processor at zero', async () => {
      const r = await net.http<{ positions: PositionView[] }>('GET', '/v1/admin/positions');
      expect(r.status).toBe(200);
      expect(r.body.positions).toEqual([
        {
          processorId: 'bank-a',
          currency: 'EUR',
          liquidity: '0',
          position: '0',
          reserved: '0',
          available: '0',
        },
        {
          processorId: 'mno-b',
          currency: 'EUR',
          liquidity: '0',
          position: '0',
          reserved: '0',
          available: '0',
        },
      ]);
    });

    it('deposits and withdraws prefunded liquidity', async () => {
      const d = await net.http<PositionView>(
        'POST',
        '/v1/admin/liquidity',
        liquidity('bank-a', '100000', 'deposit'),
      );
      expect(d.status).toBe(200);
      expect(d.body).toEqual({
        processorId: 'bank-a',
        currency: 'EUR',
        liquidity: '100000',
        position: '0',
        reserved: '0',
        available: '100000',
      });
      const w = await net.http<PositionView>(
        'POST',
        '/v1/admin/liquidity',
        liquidity('bank-a', '30000', 'withdraw'),
      );
      expect(w.status).toBe(200);
      expect(w.body).toMatchObject({ liquidity: '70000', available: '70000' });
    });

    it('refuses a withdrawal beyond the available liquidity and changes nothing', async () => {
      const before = await net.position('bank-a');
      const w = await net.http<ErrorBody>(
        'POST',
        '/v1/admin/liquidity',
        liquidity('bank-a', '70001', 'withdraw'),
      );
      expect(w.status).toBe(422);
      expect(w.body.error.code).toBe('NET_DEBIT_CAP_EXCEEDED');
      expect(await net.position('bank-a')).toEqual(before);
      const empty = await net.http<ErrorBody>(
        'POST',
        '/v1/admin/liquidity',
        liquidity('mno-b', '1', 'withdraw'),
      );
      expect(empty.body.error.code).toBe('NET_DEBIT_CAP_EXCEEDED');
    });

    it('refuses unknown processors, unsupported currencies and malformed amounts', async () => {
      const unknown = await net.http<ErrorBody>(
        'POST',
        '/v1/admin/liquidity',
        liquidity('bank-z', '1', 'deposit'),
      );
      expect([unknown.status, unknown.body.error.code]).toEqual([404, 'PARTICIPANT_NOT_FOUND']);
      const usd = await net.http<ErrorBody>(
        'POST',
        '/v1/admin/liquidity',
        liquidity('bank-a', '1', 'deposit', 'USD'),
      );
      expect([usd.status, usd.body.error.code]).toEqual([422, 'CURRENCY_NOT_SUPPORTED']);
      for (const value of ['0', '-5', '1.5', '99999999999999999999']) {
        const bad = await net.http<ErrorBody>(
          'POST',
          '/v1/admin/liquidity',
          liquidity('bank-a', value, 'deposit'),
        );
        expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      }
      const dir = await net.http<ErrorBody>('POST', '/v1/admin/liquidity', {
        ...liquidity('bank-a', '1', 'deposit'),
        direction: 'steal',
      });
      expect(dir.body.error.code).toBe('VALIDATION_FAILED');
      expect(await net.position('bank-a')).toMatchObject({ liquidity: '70000' });
    });

    it('applies a deposit once per Idempotency-Key', async () => {
      const send = (value: string) =>
        fetch(`${net.hub.url}/v1/admin/liquidity`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${net.hub.adminToken}`,
            'content-type': 'application/json',
            'idempotency-key': 'dep-1',
          },
          body: JSON.stringify(liquidity('mno-b', value, 'deposit')),
        });
      expect((await send('500')).status).toBe(200);
      expect((await send('500')).status).toBe(200);
      const conflict = await send('600');
      expect(conflict.status).toBe(409);
      expect(await net.position('mno-b')).toMatchObject({ liquidity: '500', available: '500' });
    });
  });
});
