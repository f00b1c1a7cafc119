/**
 * Customers and their devices: creation by the operator, deposits, device enrolment with an activation
 * code, PIN checks with lock-out, and wallet access tokens.
 */
import { createHmac, randomInt } from 'node:crypto';
import type { Ledger } from '@semops/ledger';
import { sha256, type Db } from '@semops/node';
import {
  SemopsError,
  decryptJson,
  importSigningKey,
  isEd25519Jwk,
  newId,
  publicPart,
  randomToken,
  type JWK,
  type Key,
} from '@semops/protocol';
import { MAX_PIN_ATTEMPTS, type PinHasher } from './pins.js';

export interface Customer {
  readonly id: string;
  readonly phone: string;
  readonly name: string;
  readonly currency: string;
  readonly accountId: string;
  readonly status: 'active' | 'blocked';
  readonly pinLocked: boolean;
}

export interface Device {
  readonly id: string;
  readonly customerId: string;
  readonly status: 'active' | 'blocked';
  readonly key: Key;
}

interface CustomerRow {
  id: string;
  phone: string;
  name: string;
  currency: string;
  account_id: string;
  status: 'active' | 'blocked';
  pin_hash: string | null;
  pin_attempts: number;
  pin_locked: number;
  activation_hash: string | null;
}

function toCustomer(r: CustomerRow): Customer {
  return {
    id: r.id,
    phone: r.phone,
    name: r.name,
    currency: r.currency,
    accountId: r.account_id,
    status: r.status,
    pinLocked: r.pin_locked === 1,
  };
}

export interface CustomerDeps {
  readonly db: Db;
  readonly ledger: Ledger;
  readonly pins: PinHasher;
  readonly encryptionKey: Key;
  /** Network-wide key for blinding phone numbers in the hub directory. */
  readonly directoryKey: string;
  readonly fundingAccount: (currency: string) => Promise<string>;
  readonly now: () => number;
}

/** The blinded directory alias of a phone number: the hub sees this, never the number. */
export function blindAlias(directoryKey: string, phone: string): string {
  return createHmac('sha256', directoryKey).update(phone).digest('hex');
}

export function createCustomerService(deps: CustomerDeps) {
  const { db, ledger, pins, now } = deps;
  const byId = db.prepare('SELECT * FROM customers WHERE id = ?');
  const byPhone = db.prepare('SELECT * FROM customers WHERE phone = ?');
  const insert = db.prepare(
    `INSERT INTO customers (id, phone, name, currency, account_id, activation_hash, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertAlias = db.prepare(
    'INSERT OR IGNORE INTO directory_aliases (alias, customer_id) VALUES (?, ?)',
  );
  const setActivation = db.prepare('UPDATE customers SET activation_hash = ? WHERE id = ?');
  const deviceByToken = db.prepare(
    'SELECT id, customer_id, public_jwk, status FROM devices WHERE token_hash = ?',
  );
  const deviceById = db.prepare('SELECT id, customer_id, public_jwk, status FROM devices WHERE id = ?');
  const insertDevice = db.prepare(
    'INSERT INTO devices (id, customer_id, public_jwk, token_hash, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const enrolTx = db.prepare(
    'UPDATE customers SET pin_hash = ?, pin_attempts = 0, pin_locked = 0, activation_hash = NULL WHERE id = ? AND activation_hash = ?',
  );
  const pinFail = db.prepare(
    `UPDATE customers SET pin_attempts = pin_attempts + 1,
       pin_locked = CASE WHEN pin_attempts + 1 >= ${MAX_PIN_ATTEMPTS} THEN 1 ELSE 0 END WHERE id = ?`,
  );
  const pinOk = db.prepare('UPDATE customers SET pin_attempts = 0 WHERE id = ? AND pin_attempts <> 0');
  const unlock = db.prepare('UPDATE customers SET pin_attempts = 0, pin_locked = 0 WHERE id = ?');
  const setPin = db.prepare('UPDATE customers SET pin_hash = ? WHERE id = ?');
  const blockDeviceStmt = db.prepare(
    "UPDATE devices SET status = 'blocked' WHERE id = ? AND customer_id = ? AND status = 'active'",
  );
  const deviceCache = new Map<string, Device>();

  function row(id: string): CustomerRow {
    const r = byId.get(id) as CustomerRow | undefined;
    if (!r) throw new SemopsError('CUSTOMER_NOT_FOUND');
    return r;
  }

  function newActivationCode(): string {
    return String(randomInt(0, 100_000_000)).padStart(8, '0');
  }

  async function loadDevice(r: {
    id: string;
    customer_id: string;
    public_jwk: string;
    status: 'active' | 'blocked';
  }) {
    const cached = deviceCache.get(r.id);
    if (cached && cached.status === r.status) return cached;
    const d: Device = {
      id: r.id,
      customerId: r.customer_id,
      status: r.status,
      key: await importSigningKey(JSON.parse(r.public_jwk) as JWK),
    };
    deviceCache.set(r.id, d);
    return d;
  }

  return {
    get(id: string): Customer {
      return toCustomer(row(id));
    },

    /** The customer holding a phone number (E.164), if any: SMS and USSD know the customer by the SIM. */
    findByPhone(phone: string): Customer | undefined {
      const r = byPhone.get(phone) as CustomerRow | undefined;
      return r ? toCustomer(r) : undefined;
    },

    /** Creates a customer with an account and returns a one-time activation code for the first device. */
    async create(input: { phone: string; name: string; currency: string }) {
      if (byPhone.get(input.phone)) throw new SemopsError('CUSTOMER_EXISTS');
      const id = newId('cus');
      const accountId = newId('acc');
      await ledger.createAccount({
        id: accountId,
        currency: input.currency,
        rule: 'debits_must_not_exceed_credits',
        code: 'customer',
      });
      const activationCode = newActivationCode();
      try {
        db.transaction(() => {
          insert.run(id, input.phone, input.name, input.currency, accountId, sha256(activationCode), now());
          insertAlias.run(blindAlias(deps.directoryKey, input.phone), id);
        })();
      } catch (e) {
        if (String(e).includes('UNIQUE')) throw new SemopsError('CUSTOMER_EXISTS');
        throw e;
      }
      return { customerId: id, accountId, activationCode };
    },

    /** A new activation code (to enrol a replacement device). */
    reissueActivation(id: string): string {
      row(id);
      const code = newActivationCode();
      setActivation.run(sha256(code), id);
      return code;
    },

    /** Cash paid in: funding → customer, idempotent by `depositId`. */
    async deposit(id: string, amount: bigint, depositId: string) {
      const c = toCustomer(row(id));
      await ledger.transfer({
        id: depositId,
        debitAccountId: await deps.fundingAccount(c.currency),
        creditAccountId: c.accountId,
        amount,
        currency: c.currency,
        code: 'deposit',
      });
      return this.balance(id);
    },

    async balance(id: string) {
      const c = toCustomer(row(id));
      const a = await ledger.getAccount(c.accountId);
      const balance = a ? a.creditsPosted - a.debitsPosted : 0n;
      const available = a ? balance - a.debitsPending : 0n;
      return { currency: c.currency, balance, available };
    },

    /**
     * Enrols a device: checks the activation code, registers the device public key, sets the PIN (sent as a
     * JWE to this processor) and returns the device id and an access token.
     */
    async enrol(input: { phone: string; activationCode: string; devicePublicKey: unknown; pin: string }) {
      if (!isEd25519Jwk(input.devicePublicKey)) throw new SemopsError('DEVICE_KEY_INVALID');
      const pin = await decryptPin(input.pin);
      const r = byPhone.get(input.phone) as CustomerRow | undefined;
      const activationHash = sha256(input.activationCode);
      if (!r || r.activation_hash === null || r.activation_hash !== activationHash) {
        throw new SemopsError('ACTIVATION_INVALID');
      }
      if (r.status !== 'active') throw new SemopsError('ACCOUNT_BLOCKED');
      const deviceId = newId('dev');
      const accessToken = `at_${randomToken(24)}`;
      const jwk = publicPart(input.devicePublicKey);
      db.transaction(() => {
        const changed = enrolTx.run(pins.hash(r.id, pin), r.id, activationHash).changes;
        if (changed !== 1) throw new SemopsError('ACTIVATION_INVALID');
        insertDevice.run(deviceId, r.id, JSON.stringify(jwk), sha256(accessToken), now());
      })();
      return { deviceId, accessToken, customer: { id: r.id, name: r.name, currency: r.currency } };
    },

    /** The device behind a wallet access token. */
    async authenticate(token: string | undefined): Promise<{ device: Device; customer: Customer }> {
      if (!token) throw new SemopsError('UNAUTHORIZED');
      const r = deviceByToken.get(sha256(token)) as
        { id: string; customer_id: string; public_jwk: string; status: 'active' | 'blocked' } | undefined;
      if (!r) throw new SemopsError('UNAUTHORIZED');
      if (r.status !== 'active') throw new SemopsError('DEVICE_BLOCKED');
      const customer = toCustomer(row(r.customer_id));
      if (customer.status !== 'active') throw new SemopsError('ACCOUNT_BLOCKED');
      return { device: await loadDevice(r), customer };
    },

    async device(id: string): Promise<Device | undefined> {
      const r = deviceById.get(id) as
        { id: string; customer_id: string; public_jwk: string; status: 'active' | 'blocked' } | undefined;
      return r ? loadDevice(r) : undefined;
    },

    /**
     * Checks a PIN. A wrong PIN counts an attempt; the third wrong one locks the PIN. Returns nothing on
     * success and throws PIN_INVALID (with attempts left) or PIN_LOCKED.
     */
    checkPin(customerId: string, pin: string): void {
      const r = row(customerId);
      if (r.pin_locked === 1) throw new SemopsError('PIN_LOCKED');
      if (r.pin_hash !== null && pins.matches(customerId, pin, r.pin_hash)) {
        pinOk.run(customerId);
        return;
      }
      pinFail.run(customerId);
      const left = MAX_PIN_ATTEMPTS - (r.pin_attempts + 1);
      if (left <= 0) throw new SemopsError('PIN_LOCKED');
      throw new SemopsError('PIN_INVALID', `Wrong PIN; ${left} ${left === 1 ? 'try' : 'tries'} left.`, {
        attemptsLeft: left,
      });
    },

    unlockPin(id: string): void {
      row(id);
      unlock.run(id);
    },

    /**
     * Changes the PIN after checking the current one (a wrong one counts a try, as for a payment). The new
     * PIN is 4 to 6 digits and differs from the current one.
     */
    changePin(customerId: string, oldPin: string, newPin: string): void {
      if (!/^\d{4,6}$/.test(newPin)) throw new SemopsError('PIN_FORMAT');
      this.checkPin(customerId, oldPin);
      if (newPin === oldPin) {
        throw new SemopsError('VALIDATION_FAILED', 'The new PIN must differ from the current one.');
      }
      setPin.run(pins.hash(customerId, newPin), customerId);
    },

    /**
     * Blocks a device at once (lost or stolen phone): its access token stops working and any later approval
     * it signs is refused with DEVICE_BLOCKED. The customer enrols a new device with a new activation code.
     */
    blockDevice(customerId: string, deviceId: string): { deviceId: string; status: 'blocked' } {
      blockDeviceStmt.run(deviceId, customerId);
      deviceCache.delete(deviceId);
      return { deviceId, status: 'blocked' };
    },

    decryptPin,
  };

  /** Opens a PIN JWE `{ pin }` addressed to this processor and checks its format. */
  async function decryptPin(jwe: string): Promise<string> {
    const payload = (await decryptJson(jwe, deps.encryptionKey)) as { pin?: unknown } | null;
    const pin = payload?.pin;
    if (typeof pin !== 'string' || !/^\d{4,6}$/.test(pin)) throw new SemopsError('PIN_FORMAT');
    return pin;
  }
}

export type CustomerService = ReturnType<typeof createCustomerService>;
