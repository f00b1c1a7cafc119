/**
 * Demo data for the use cases a person tries by hand: an agent with float (cash-in, cash-out at its till), a
 * biller (pay a bill by biller code and account number) and a parking zone (pay minutes, get a permit).
 * Seeded once and kept in demo.json; the parking zone's reusable request is renewed when it has expired.
 */
import { writeFileSync } from 'node:fs';
import { json } from './http.js';
import { agentWithFloat } from './clients-agents.js';
import { registerBiller } from './clients-bills.js';
import type { Network } from './network.js';

export interface DemoUseCases {
  agent: { processorId: string; name: string; apiKey: string; pin: string; tillCode: string };
  biller: { processorId: string; name: string; billerCode: string; apiKey: string };
  parking: {
    processorId: string;
    name: string;
    apiKey: string;
    requestId: string;
    shortCode: string;
    expiresAt: number;
  };
}

interface ParkingRequest {
  id: string;
  shortCode: string;
  expiresAt: number;
}

async function parkingZone(url: string, apiKey: string): Promise<ParkingRequest> {
  return json<ParkingRequest>('POST', `${url}/v1/requests`, {
    token: apiKey,
    body: {
      currency: 'EUR',
      kind: 'parking',
      zone: 'Zone 1 Innere Stadt',
      tariff: { perMinute: '5', minMinutes: 10, maxMinutes: 180 },
      reference: 'zone-1',
      reusable: true,
      expiresInSeconds: 86_400,
    },
  });
}

/** Seeds (or renews) the use-case demo data and returns it. */
export async function seedUseCases(
  net: Network,
  existing: DemoUseCases | undefined,
  save: (u: DemoUseCases) => void,
): Promise<DemoUseCases> {
  const mno = net.processors.get('mno-b')!;
  const bank = net.processors.get('bank-a')!;
  let u = existing;
  if (!u) {
    const agent = await agentWithFloat(
      mno.admin,
      { name: 'Kiosk Agent Favoriten', city: 'Wien', currency: 'EUR' },
      1_000_00n,
      '2468',
    );
    const energy = await bank.admin.createMerchant({
      name: 'Wien Energie',
      city: 'Wien',
      category: '4900',
      currency: 'EUR',
    });
    const billerCode = `${bank.spec.routingPrefix}77001`;
    await registerBiller(bank.admin, {
      merchantId: energy.merchantId,
      billerCode,
      accountPattern: '^\\d{8}$',
    });
    const parking = await mno.admin.createMerchant({
      name: 'City Parking',
      city: 'Wien',
      category: '7523',
      currency: 'EUR',
    });
    const zone = await parkingZone(mno.url, parking.apiKey);
    u = {
      agent: {
        processorId: 'mno-b',
        name: 'Kiosk Agent Favoriten',
        apiKey: agent.apiKey,
        pin: agent.pin,
        tillCode: agent.tillCode,
      },
      biller: { processorId: 'bank-a', name: 'Wien Energie', billerCode, apiKey: energy.apiKey },
      parking: {
        processorId: 'mno-b',
        name: 'City Parking',
        apiKey: parking.apiKey,
        requestId: zone.id,
        shortCode: zone.shortCode,
        expiresAt: zone.expiresAt,
      },
    };
    save(u);
  } else if (u.parking.expiresAt <= Date.now() + 60_000) {
    const zone = await parkingZone(mno.url, u.parking.apiKey);
    u = {
      ...u,
      parking: { ...u.parking, requestId: zone.id, shortCode: zone.shortCode, expiresAt: zone.expiresAt },
    };
    save(u);
  }
  return u;
}

/** What `npm start` prints about them. */
export function useCaseLines(u: DemoUseCases): string[] {
  return [
    '',
    'More use cases to try (see docs/protocol.md):',
    `  agent    ${u.agent.name} at ${u.agent.processorId}: till code ${u.agent.tillCode} (withdraw cash: pay it, or USSD *384# → 3);`,
    `           cash-in: POST /v1/agent/cash-in with API key ${u.agent.apiKey} and agent PIN ${u.agent.pin}`,
    `  biller   ${u.biller.name} at ${u.biller.processorId}: biller code ${u.biller.billerCode}, account = 8 digits (POST /v1/wallet/bills/resolve)`,
    `  parking  ${u.parking.name} at ${u.parking.processorId}: code ${u.parking.shortCode}, 0.05 EUR a minute, 10–180 minutes; the receipt is a permit`,
    `           (npx semops verify-receipt <receipt> --key-url <processor>/v1/info)`,
    '  airtime  mno-b sells airtime for its phone numbers (POST /v1/wallet/airtime)',
  ];
}

export function saveInto(path: string, state: object): (u: DemoUseCases) => void {
  return (u) => writeFileSync(path, JSON.stringify({ ...state, useCases: u }, null, 2), { mode: 0o600 });
}
