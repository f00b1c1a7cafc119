import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrepareResult, TransferPrepare } from '@semops/protocol';
import { startNetwork, waitFor, type TestNetwork } from './testing/network.js';

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork({ logger: true, forwardTimeoutMs: 200 });
  await net.deposit('bank-a', '10000');
});
afterAll(async () => {
  await net.close();
});

describe('what the hub keeps and logs', () => {
  it('logs no message bodies, tokens or receipts, even when things go wrong', async () => {
    const prepare = async (t: TransferPrepare) =>
      ((await net.a.send('transfer.prepare', { transfers: [t] })) as { results: PrepareResult[] })
        .results[0]!;
    const ok = net.transfer();
    const { receipt } = await prepare(ok);
    net.b.mode = 'hang';
    const silent = net.transfer({ expiresAt: Date.now() + 400 });
    await prepare(silent);
    net.b.notifyOk = false;
    await waitFor(() => net.a.notifications.some((e) => e.transferId === silent.transferId));
    // mno-b refused the notification twice: the hub logged the first failure before it tried again.
    await waitFor(
      () => net.b.refusedNotifications.filter((e) => e.transferId === silent.transferId).length >= 2,
    );
    await fetch(`${net.hub.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jws":"x.y.z"}',
    });
    await net.hub.close(); // flushes the log

    const log = readFileSync(join(net.dataDir, 'logs', 'hub.log'), 'utf8');
    expect(log).toContain('transfer.notify not delivered'); // the log is being written
    for (const secret of [
      ok.requestId,
      silent.requestId,
      receipt!,
      net.hub.adminToken,
      '"jws"',
      'Test shop',
    ]) {
      expect(log).not.toContain(secret);
    }
    await net.restartHub({ logger: false });
  });
});
