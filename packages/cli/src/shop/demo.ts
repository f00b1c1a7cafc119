/**
 * The example shop in `semops demo`: its own merchant at `bank-a`, created once with the shop's webhook URL
 * (the processor takes a webhook URL only when a merchant is created) and kept in the demo state under
 * `shop`; created again if the demo runs on another port.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { SemopsMerchant } from '@semops/merchant-sdk';
import type { Network } from '../network.js';
import { startShop, type Shop } from './server.js';

export interface DemoShopState {
  readonly processorId: string;
  readonly merchantId: string;
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly webhookUrl: string;
}

const SHOP_PROCESSOR = 'bank-a';

/** Starts the example shop on `port`, creating its merchant in the demo state file if needed. */
export async function startDemoShop(
  net: Network,
  statePath: string,
  port: number,
  log: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<Shop> {
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { shop?: DemoShopState };
  const p = net.processors.get(SHOP_PROCESSOR);
  if (!p) throw new Error(`the demo shop needs processor ${SHOP_PROCESSOR}`);
  const webhookUrl = `http://127.0.0.1:${port}/webhooks/semops`;
  if (state.shop?.webhookUrl !== webhookUrl) {
    const created = await p.admin.createMerchant({
      name: 'Bookshop Hofer Online',
      city: 'Graz',
      category: '5942',
      currency: p.spec.currency,
      webhookUrl,
    });
    state.shop = {
      processorId: p.id,
      merchantId: created.merchantId,
      apiKey: created.apiKey,
      webhookSecret: created.webhookSecret,
      webhookUrl,
    };
    writeFileSync(statePath, JSON.stringify(state, null, 2), { mode: 0o600 });
  }
  return startShop({
    merchant: new SemopsMerchant({ baseUrl: p.url, apiKey: state.shop.apiKey }),
    webhookSecret: state.shop.webhookSecret,
    name: 'Bookshop Hofer',
    currency: p.spec.currency,
    port,
    walletLinks: [...net.processors.values()].map((x) => ({
      name: `${x.spec.name} wallet`,
      url: `${x.url}/app/wallet.html`,
    })),
    log,
  });
}
