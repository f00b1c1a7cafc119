import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNetwork } from './dist/testing/network.js';
const net = await startNetwork({ forwardTimeoutMs: 5000, expiryIntervalMs: 200 });
await net.deposit('bank-a', '1000000000000');
const per = Number(process.argv[2] ?? 1), conc = Number(process.argv[3] ?? 64), total = Number(process.argv[4] ?? 20000);
let sent = 0, ok = 0, bad = 0;
const s = Date.now();
await Promise.all(Array.from({ length: conc }, async () => {
  while (sent < total) {
    sent += per;
    const ts = Array.from({ length: per }, () => net.transfer({ amount: { value: '100', currency: 'EUR' }, expiresAt: Date.now() + 30000 }));
    const r = await net.a.send('transfer.prepare', { transfers: ts });
    for (const x of r.results) x.state === 'COMMITTED' ? ok++ : bad++;
  }
}));
const el = (Date.now() - s) / 1000;
console.log({ per, conc, ok, bad, seconds: el, perSec: Math.round(ok / el) });
await new Promise(r => setTimeout(r, 1000));
console.log('notifs a', net.a.notifications.length, 'b', net.b.notifications.length);
await net.close();
