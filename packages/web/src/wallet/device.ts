/**
 * The wallet's device: enrolment (an Ed25519 key pair made by WebCrypto on this device, private key
 * non-extractable; the PIN encrypted to the processor) and signed approvals, built exactly as the CLI wallet
 * (`packages/cli/src/clients.ts`, `Wallet.approval`) builds them.
 */
import {
  APPROVAL_TYP,
  encryptJson,
  importEncryptionKey,
  publicPart,
  randomToken,
  signJson,
  type MoneyWire,
} from '@semops/protocol';
import { api, processorInfo } from '../shared/api';
import type { StoredDevice } from './store';

/** An approval lives one minute: long enough to reach the processor, too short to be kept for later. */
const APPROVAL_TTL_MS = 60_000;

function requireWebCrypto(): SubtleCrypto {
  if (!globalThis.isSecureContext || !globalThis.crypto?.subtle) {
    throw new Error(
      'This page must be opened over HTTPS (or on localhost) to create a device key. Ask your processor for the secure address.',
    );
  }
  return crypto.subtle;
}

/** The processor's encryption key (X25519), to which the PIN is encrypted. */
async function processorKey(): Promise<CryptoKey> {
  const info = await processorInfo();
  return importEncryptionKey(info.encryptionKey);
}

/** The PIN as a JWE only the processor can open. */
export async function encryptPin(pin: string): Promise<string> {
  return encryptJson({ pin }, await processorKey());
}

/** Makes the device key pair, enrols it with the activation code and returns what the phone keeps. */
export async function enrolDevice(input: {
  phone: string;
  activationCode: string;
  pin: string;
}): Promise<StoredDevice> {
  const subtle = requireWebCrypto();
  let pair: CryptoKeyPair;
  try {
    pair = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  } catch {
    throw new Error('This browser cannot make Ed25519 keys. Update it, or use another browser.');
  }
  const publicJwk = await subtle.exportKey('jwk', pair.publicKey);
  const info = await processorInfo();
  const res = await api<{ deviceId: string; accessToken: string; customer: StoredDevice['customer'] }>(
    'POST',
    '/v1/wallet/enrol',
    {
      body: {
        phone: input.phone,
        activationCode: input.activationCode,
        devicePublicKey: publicPart(publicJwk),
        pin: await encryptPin(input.pin),
      },
    },
  );
  return {
    deviceId: res.deviceId,
    accessToken: res.accessToken,
    customer: res.customer,
    phone: input.phone,
    processor: { id: info.id, name: info.name },
    privateKey: pair.privateKey,
    publicJwk,
    enrolledAt: Date.now(),
  };
}

/**
 * The approval of one payment: signed by the device key (`kid` = device id, `typ semops-approval+jws`),
 * bound to request, payee and amount, with a fresh nonce and a short expiry, carrying the PIN as a JWE and,
 * for a request in another currency, the id of the exchange-rate quote the customer was shown.
 */
export async function signApproval(
  device: StoredDevice,
  request: { requestId: string; processorId: string },
  amount: MoneyWire,
  pin: string,
  quoteId?: string,
): Promise<string> {
  const payload = {
    deviceId: device.deviceId,
    requestId: request.requestId,
    payee: request.processorId,
    amount,
    nonce: randomToken(16),
    expiresAt: Date.now() + APPROVAL_TTL_MS,
    pin: await encryptPin(pin),
    ...(quoteId ? { quoteId } : {}),
  };
  return signJson(payload, device.privateKey, device.deviceId, APPROVAL_TYP);
}
