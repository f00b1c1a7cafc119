/**
 * PINs are stored only as a keyed hash: HMAC-SHA256 under a key that lives outside the database (a file or an
 * HSM in production), bound to the customer id, compared in constant time. A keyed hash is the bank practice:
 * without the key a stolen database does not reveal PINs, and checking one costs microseconds.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_PIN_ATTEMPTS = 3;

export interface PinHasher {
  hash(customerId: string, pin: string): string;
  matches(customerId: string, pin: string, stored: string): boolean;
}

export function createPinHasher(key: string): PinHasher {
  const hash = (customerId: string, pin: string) =>
    createHmac('sha256', key).update(`${customerId}:${pin}`).digest('hex');
  return {
    hash,
    matches(customerId, pin, stored) {
      const a = Buffer.from(hash(customerId, pin), 'hex');
      const b = Buffer.from(stored, 'hex');
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
