/**
 * jose (WebCrypto) against node:crypto for the four JOSE operations, in one run:
 * `npx vitest bench --run packages/node/src/fast-crypto.bench.ts`.
 */
import { bench, describe } from 'vitest';
import {
  generateEncryptionKeys,
  generateSigningKeys,
  importEncryptionKey,
  importSigningKey,
  joseBackend,
  publicPart,
  type JwsHeader,
} from '@semops/protocol';
import { nodeCryptoBackend } from './fast-crypto.js';

const [signing, encryption] = await Promise.all([generateSigningKeys(), generateEncryptionKeys()]);
const signKey = await importSigningKey(signing.privateJwk);
const verifyKey = await importSigningKey(publicPart(signing.publicJwk));
const encKey = await importEncryptionKey(publicPart(encryption.publicJwk));
const decKey = await importEncryptionKey(encryption.privateJwk);

/** A message envelope of a typical size (about 600 bytes of JSON). */
const payload = new TextEncoder().encode(
  JSON.stringify({
    id: 'msg_01JD0000000000000000000000',
    type: 'transfer.prepare',
    sender: 'bank-a',
    receiver: 'hub',
    issuedAt: 1_700_000_000_000,
    expiresAt: 1_700_000_060_000,
    body: {
      transferId: 'trf_01JD0000000000000000000000',
      payer: { alias: '+36201234567', processor: 'bank-a' },
      payee: { alias: '+36301234567', processor: 'mno-b' },
      amount: { currency: 'HUF', value: '12500.00' },
      reference: 'Invoice 2024-118 for garden work and materials',
      quote: { rate: '1', fee: '0.00', expiresAt: 1_700_000_060_000 },
      pin: 'x'.repeat(180),
    },
  }),
);
const header: JwsHeader = { alg: 'EdDSA', kid: 'bank-a', typ: 'semops-msg+jws' };
const jws = nodeCryptoBackend.sign(payload, header, signKey);
const jwe = nodeCryptoBackend.encrypt(payload, encKey);
const options = { time: 1500, warmupTime: 300 };

describe('sign', () => {
  bench('jose', async () => void (await joseBackend.sign(payload, header, signKey)), options);
  bench('node:crypto', () => void nodeCryptoBackend.sign(payload, header, signKey), options);
});
describe('verify', () => {
  bench('jose', async () => void (await joseBackend.verify(jws, verifyKey)), options);
  bench('node:crypto', () => void nodeCryptoBackend.verify(jws, verifyKey), options);
});
describe('encrypt', () => {
  bench('jose', async () => void (await joseBackend.encrypt(payload, encKey)), options);
  bench('node:crypto', () => void nodeCryptoBackend.encrypt(payload, encKey), options);
});
describe('decrypt', () => {
  bench('jose', async () => void (await joseBackend.decrypt(jwe, decKey)), options);
  bench('node:crypto', () => void nodeCryptoBackend.decrypt(jwe, decKey), options);
});
