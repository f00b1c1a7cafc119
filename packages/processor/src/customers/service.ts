/**
 * Customers and their devices: creation by the operator, deposits, device enrolment with an activation
 * code, PIN checks with lock-out, and wallet access tokens.
 */
import { createHmac, randomInt } from 'node:crypto';
import type { Ledger } from '@semops/ledger';
import { isUniqueViolation, sha256, type Sql } from '@semops/node';
import {
  ACTION_TYP,
  MAX_APPROVAL_TTL_MS,
  MAX_CLOCK_SKEW_MS,
  SemopsError,
  decryptJson,
  deviceAction,
  peekJws,
  verifyJson,
  type DeviceActionName,
  importSigningKey,
  isEd25519Jwk,
  newId,
  publicPart,
  randomToken,
  type JWK,
  type Key,
} from '@semops/protocol';
import { MAX_PIN_ATTEMPTS, type PinHasher } from './pins.js';
import type { CustomerKind, LimitService, Tier } from '../limits/service.js';
import { moneyText, type NotificationService } from '../notifications/service.js';
import type { ProcessorMetrics } from '../metrics.js';

export interface Customer {
  readonly id: string;
  readonly phone: string;
  readonly name: string;
  readonly currency: string;
  readonly accountId: string;
  readonly status: 'active' | 'blocked';
  readonly pinLocked: boolean;
  /** A bank account or a prepaid e-money account (bound by its KYC tier's limits). */
  readonly kind: CustomerKind;
  readonly tier: Tier;
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
  alias: string | null;
  kind: CustomerKind;
  tier: number;
}

function toCustomer(r: CustomerRow): Customer {
  return {
    id: r.id,
    phone: r.phone,
    name: r.name,
    currency: r.currency,
    accountId: r.account_id,
    status: r.status,
    pinLocked: Number(r.pin_locked) === 1,
    kind: r.kind,
    tier: Number(r.tier) as Tier,
  };
}

export interface CustomerDeps {
  readonly q: Sql;
  readonly ledger: Ledger;
  readonly pins: PinHasher;
  readonly encryptionKey: Key;
  /** Network-wide key for blinding phone numbers in the hub directory. */
  readonly directoryKey: string;
  readonly fundingAccount: (currency: string) => Promise<string>;
  readonly now: () => number;
  /** Tier limits: a deposit beyond the maximum balance is refused. */
  readonly limits?: LimitService;
  /** Deposits are recorded as notifications when given. */
  readonly notifications?: NotificationService;
  /** Texts the customer's phone (a new device enrolled): another channel than the wallet being enrolled. */
  readonly sms?: { send(to: string, text: string): Promise<void> };
  /** Counts PIN lock-outs. */
  readonly metrics?: ProcessorMetrics;
}

/** The blinded directory alias of a phone number: the hub sees this, never the number. */
export function blindAlias(directoryKey: string, phone: string): string {
  return createHmac('sha256', directoryKey).update(phone).digest('hex');
}

/**
 * How much of a customer's name this processor shows to someone who pays them or whom they ask for money
 * (P2P): `first-name` (the default) the first name and the initial of the last, enough to recognise the
 * person; `initials` only initials.
 */
export type PayeeNameRule = 'first-name' | 'initials';

/**
 * A customer's name as another person may see it, by this processor's rule.
 * @example payeeName('Ben Otieno') // 'Ben O.'
 * @example payeeName('Jane Mary Doe', 'initials') // 'J*** M*** D***'
 */
export function payeeName(name: string, rule: PayeeNameRule = 'first-name'): string {
  const words = name
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  const initial = (w: string) => [...w][0]!.toUpperCase();
  if (rule === 'initials') {
    return words
      .slice(0, 3)
      .map((w) => `${initial(w)}***`)
      .join(' ');
  }
  const [first, ...rest] = words;
  if (first === undefined) return '';
  const given = [...first].slice(0, 20).join('');
  const last = rest.at(-1);
  return last === undefined ? given : `${given} ${initial(last)}.`;
}

/** A customer's phone-less alias: lower-case letters, digits, dots, dashes and underscores. */
export const ALIAS_RE = /^[a-z0-9][a-z0-9._-]{1,31}$/;

export function createCustomerService(deps: CustomerDeps) {
  const { q, ledger, pins, now } = deps;
  const deviceCache = new Map<string, Device>();
  type DeviceRow = { id: string; customer_id: string; public_jwk: string; status: 'active' | 'blocked' };

  async function row(id: string, on: Sql = q): Promise<CustomerRow> {
    const r = await on.one<CustomerRow>`SELECT * FROM customers WHERE id = ${id}`;
    if (!r) throw new SemopsError('CUSTOMER_NOT_FOUND');
    return r;
  }

  const byPhone = (phone: string) => q.one<CustomerRow>`SELECT * FROM customers WHERE phone = ${phone}`;

  function newActivationCode(): string {
    return String(randomInt(0, 100_000_000)).padStart(8, '0');
  }

  async function loadDevice(r: DeviceRow) {
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

  const service = {
    async get(id: string): Promise<Customer> {
      return toCustomer(await row(id));
    },

    /** The customer holding a phone number (E.164), if any: SMS and USSD know the customer by the SIM. */
    async findByPhone(phone: string): Promise<Customer | undefined> {
      const r = await byPhone(phone);
      return r ? toCustomer(r) : undefined;
    },

    /** Creates a customer with an account and returns a one-time activation code for the first device. */
    async create(input: { phone: string; name: string; currency: string; kind?: CustomerKind; tier?: Tier }) {
      if (await byPhone(input.phone)) throw new SemopsError('CUSTOMER_EXISTS');
      const id = newId('cus');
      const accountId = newId('acc');
      await ledger.createAccount({
        id: accountId,
        currency: input.currency,
        rule: 'debits_must_not_exceed_credits',
        code: 'customer',
      });
      const activationCode = newActivationCode();
      const alias = blindAlias(deps.directoryKey, input.phone);
      try {
        await q.tx(async (t) => {
          await t.run`INSERT INTO customers (id, phone, name, currency, account_id, activation_hash, created_at,
              kind, tier)
            VALUES (${id}, ${input.phone}, ${input.name}, ${input.currency}, ${accountId}, ${sha256(activationCode)},
              ${now()}, ${input.kind ?? 'bank'}, ${input.tier ?? 1})`;
          await t.run`INSERT INTO directory_aliases (alias, customer_id) VALUES (${alias}, ${id})
            ON CONFLICT (alias) DO NOTHING`;
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw new SemopsError('CUSTOMER_EXISTS');
        throw e;
      }
      return { customerId: id, accountId, activationCode, kind: input.kind ?? 'bank', tier: input.tier ?? 1 };
    },

    /**
     * A new activation code (to enrol a replacement device). The PIN and its lock stay as they are: the next
     * enrolment must give the current PIN. Only the operator passes `resetPin` (after checking the customer's
     * identity): the PIN is cleared and unlocked, and the next enrolment sets a new one.
     */
    async reissueActivation(id: string, opts: { resetPin?: boolean } = {}): Promise<string> {
      await row(id);
      const code = newActivationCode();
      if (opts.resetPin) {
        await q.run`UPDATE customers SET activation_hash = ${sha256(code)}, pin_hash = NULL, pin_attempts = 0,
          pin_locked = 0 WHERE id = ${id}`;
      } else {
        await q.run`UPDATE customers SET activation_hash = ${sha256(code)} WHERE id = ${id}`;
      }
      return code;
    },

    /**
     * Cash paid in: funding → customer, idempotent by `depositId`. Refused with LIMIT_EXCEEDED beyond the
     * maximum balance of an e-money customer's tier.
     */
    async deposit(id: string, amount: bigint, depositId: string) {
      const c = toCustomer(await row(id));
      if (deps.limits) await deps.limits.checkCredit(id, (await service.balance(id)).balance, amount);
      await ledger.transfer({
        id: depositId,
        debitAccountId: await deps.fundingAccount(c.currency),
        creditAccountId: c.accountId,
        amount,
        currency: c.currency,
        code: 'deposit',
      });
      const money = { value: amount.toString(), currency: c.currency };
      await deps.notifications?.record(
        id,
        'payment.received',
        `Deposit of ${moneyText(money)} to your account.`,
        money,
        `ntf_${depositId}`,
      );
      return service.balance(id);
    },

    async balance(id: string) {
      const c = toCustomer(await row(id));
      const a = await ledger.getAccount(c.accountId);
      const balance = a ? a.creditsPosted - a.debitsPosted : 0n;
      const available = a ? balance - a.debitsPending : 0n;
      return { currency: c.currency, balance, available };
    },

    /**
     * Enrols a device: checks the activation code, registers the device public key and returns the device id
     * and an access token. The PIN (a JWE to this processor) sets the customer's PIN only when they have none
     * (first device, or after an operator's PIN reset); otherwise it must be the current PIN — a wrong one
     * counts a try and a locked PIN stays locked — so an activation code alone never takes over an account.
     * The customer is told by SMS when a device is added to an account that had a PIN or a device before.
     */
    async enrol(input: { phone: string; activationCode: string; devicePublicKey: unknown; pin: string }) {
      if (!isEd25519Jwk(input.devicePublicKey)) throw new SemopsError('DEVICE_KEY_INVALID');
      const pin = await decryptPin(input.pin);
      const r = await byPhone(input.phone);
      const activationHash = sha256(input.activationCode);
      if (!r || r.activation_hash === null || r.activation_hash !== activationHash) {
        throw new SemopsError('ACTIVATION_INVALID');
      }
      if (r.status !== 'active') throw new SemopsError('ACCOUNT_BLOCKED');
      const keepsPin = r.pin_hash !== null;
      if (keepsPin) await service.checkPin(r.id, pin);
      const deviceId = newId('dev');
      const accessToken = `at_${randomToken(24)}`;
      const jwk = publicPart(input.devicePublicKey);
      await q.tx(async (t) => {
        // The activation code is used once: whoever clears it first enrols.
        const changed = keepsPin
          ? await t.run`UPDATE customers SET activation_hash = NULL
              WHERE id = ${r.id} AND activation_hash = ${activationHash} AND pin_locked = 0`
          : await t.run`UPDATE customers SET pin_hash = ${pins.hash(r.id, pin)}, pin_attempts = 0,
              pin_locked = 0, activation_hash = NULL
              WHERE id = ${r.id} AND activation_hash = ${activationHash} AND pin_hash IS NULL`;
        if (changed !== 1) throw new SemopsError('ACTIVATION_INVALID');
        await t.run`INSERT INTO devices (id, customer_id, public_jwk, token_hash, created_at)
          VALUES (${deviceId}, ${r.id}, ${JSON.stringify(jwk)}, ${sha256(accessToken)}, ${now()})`;
      });
      // A device added to an account that already had a PIN or a device: the customer hears of it by SMS.
      const earlier = await q.one<{
        n: number;
      }>`SELECT COUNT(*) AS n FROM devices WHERE customer_id = ${r.id}`;
      if (keepsPin || Number(earlier?.n ?? 0) > 1)
        await deps.sms
          ?.send(
            r.phone,
            'SEMOPS: a new phone was set up for your account. If this was not you, reply BLOCK or call your provider.',
          )
          .catch(() => undefined);
      return { deviceId, accessToken, customer: { id: r.id, name: r.name, currency: r.currency } };
    },

    /**
     * Checks a device-signed account action (typ `semops-action+jws`): signed by this enrolled device, for
     * `action`, unexpired, its nonce used once, carrying the current PIN (a wrong one counts a try, a locked
     * PIN refuses). Returns the signed `params`, which the caller validates.
     */
    async authorizeAction(
      auth: { device: Device; customer: Customer },
      jws: string,
      action: DeviceActionName,
    ): Promise<{ params: Record<string, unknown>; pin: string }> {
      const { device, customer } = auth;
      const { kid, typ } = peekJws(jws);
      if (typ !== ACTION_TYP || kid !== device.id) throw new SemopsError('APPROVAL_INVALID');
      let raw: unknown;
      try {
        raw = await verifyJson(jws, device.key, ACTION_TYP);
      } catch {
        throw new SemopsError('APPROVAL_INVALID');
      }
      const parsed = deviceAction.safeParse(raw);
      if (!parsed.success || parsed.data.deviceId !== device.id || parsed.data.action !== action) {
        throw new SemopsError('APPROVAL_INVALID', `Sign a ${action} action with this device.`);
      }
      const a = parsed.data;
      const t0 = now();
      if (a.expiresAt <= t0) throw new SemopsError('APPROVAL_EXPIRED');
      if (a.expiresAt > t0 + MAX_APPROVAL_TTL_MS + MAX_CLOCK_SKEW_MS) {
        throw new SemopsError('VALIDATION_FAILED', 'A signed action may live at most 5 minutes.');
      }
      const pin = await decryptPin(a.pin);
      const fresh = await q.run`INSERT INTO device_actions (nonce, device_id, action, created_at, expires_at)
        VALUES (${a.nonce}, ${device.id}, ${action}, ${t0}, ${a.expiresAt}) ON CONFLICT (nonce) DO NOTHING`;
      if (fresh !== 1) throw new SemopsError('APPROVAL_REPLAYED');
      await q.run`DELETE FROM device_actions WHERE expires_at < ${t0 - MAX_CLOCK_SKEW_MS}`;
      await service.checkPin(customer.id, pin);
      return { params: a.params, pin };
    },

    /** The device behind a wallet access token. */
    async authenticate(token: string | undefined): Promise<{ device: Device; customer: Customer }> {
      if (!token) throw new SemopsError('UNAUTHORIZED');
      const r = await q.one<DeviceRow>`SELECT id, customer_id, public_jwk, status FROM devices
        WHERE token_hash = ${sha256(token)}`;
      if (!r) throw new SemopsError('UNAUTHORIZED');
      if (r.status !== 'active') throw new SemopsError('DEVICE_BLOCKED');
      const customer = toCustomer(await row(r.customer_id));
      if (customer.status !== 'active') throw new SemopsError('ACCOUNT_BLOCKED');
      return { device: await loadDevice(r), customer };
    },

    async device(id: string): Promise<Device | undefined> {
      const r =
        await q.one<DeviceRow>`SELECT id, customer_id, public_jwk, status FROM devices WHERE id = ${id}`;
      return r ? loadDevice(r) : undefined;
    },

    /**
     * Checks a PIN. A wrong PIN counts an attempt; the third wrong one locks the PIN. Returns nothing on
     * success and throws PIN_INVALID (with attempts left) or PIN_LOCKED. `on`: the transaction to count the
     * attempt in (a payment's, which then commits as FAILED); by default a transaction of its own.
     */
    async checkPin(customerId: string, pin: string, on: Sql = q): Promise<void> {
      const r = await row(customerId, on);
      if (r.pin_locked === 1) throw new SemopsError('PIN_LOCKED');
      if (r.pin_hash !== null && pins.matches(customerId, pin, r.pin_hash)) {
        if (r.pin_attempts !== 0)
          await on.run`UPDATE customers SET pin_attempts = 0 WHERE id = ${customerId}`;
        return;
      }
      const after = await on.one<{
        pin_attempts: number;
      }>`UPDATE customers SET pin_attempts = pin_attempts + 1,
          pin_locked = CASE WHEN pin_attempts + 1 >= ${MAX_PIN_ATTEMPTS} THEN 1 ELSE 0 END
        WHERE id = ${customerId} RETURNING pin_attempts`;
      const left = MAX_PIN_ATTEMPTS - Number(after?.pin_attempts ?? MAX_PIN_ATTEMPTS);
      if (left <= 0) {
        deps.metrics?.pinLockout();
        throw new SemopsError('PIN_LOCKED');
      }
      throw new SemopsError('PIN_INVALID', `Wrong PIN; ${left} ${left === 1 ? 'try' : 'tries'} left.`, {
        attemptsLeft: left,
      });
    },

    async unlockPin(id: string): Promise<void> {
      await row(id);
      await q.run`UPDATE customers SET pin_attempts = 0, pin_locked = 0 WHERE id = ${id}`;
    },

    /**
     * Changes the PIN after checking the current one (a wrong one counts a try, as for a payment): USSD, where
     * the operator's network authenticated the SIM. The new PIN is 4 to 6 digits and differs from the current.
     */
    async changePin(customerId: string, oldPin: string, newPin: string): Promise<void> {
      if (!/^\d{4,6}$/.test(newPin)) throw new SemopsError('PIN_FORMAT');
      await service.checkPin(customerId, oldPin);
      await service.replacePin(customerId, oldPin, newPin);
    },

    /** Sets a new PIN once the current one was checked (by `authorizeAction` or `changePin`). */
    async replacePin(customerId: string, currentPin: string, newPin: string): Promise<void> {
      if (!/^\d{4,6}$/.test(newPin)) throw new SemopsError('PIN_FORMAT');
      if (newPin === currentPin) {
        throw new SemopsError('VALIDATION_FAILED', 'The new PIN must differ from the current one.');
      }
      await q.run`UPDATE customers SET pin_hash = ${pins.hash(customerId, newPin)} WHERE id = ${customerId}`;
    },

    /**
     * Blocks a device at once (lost or stolen phone): its access token stops working and any later approval
     * it signs is refused with DEVICE_BLOCKED. The customer enrols a new device with a new activation code.
     */
    async blockDevice(
      customerId: string,
      deviceId: string,
    ): Promise<{ deviceId: string; status: 'blocked' }> {
      await q.run`UPDATE devices SET status = 'blocked'
        WHERE id = ${deviceId} AND customer_id = ${customerId} AND status = 'active'`;
      deviceCache.delete(deviceId);
      return { deviceId, status: 'blocked' };
    },

    /**
     * Blocks every active device of a customer (lost phone reported to the operator); returns their ids.
     */
    async blockAllDevices(customerId: string): Promise<{ blocked: string[] }> {
      await row(customerId);
      const rows = await q.all<{ id: string }>`SELECT id FROM devices
        WHERE customer_id = ${customerId} AND status = 'active'`;
      await q.run`UPDATE devices SET status = 'blocked' WHERE customer_id = ${customerId} AND status = 'active'`;
      for (const r of rows) deviceCache.delete(r.id);
      return { blocked: rows.map((r) => r.id) };
    },

    /**
     * Blocks the customer on every channel at once (lost or stolen phone, reported from the wallet, by SMS
     * `BLOCK`, the USSD menu or the operator): every device is blocked, the account refuses wallet, SMS, USSD,
     * mandate and agent payments (`ACCOUNT_BLOCKED`), and a payment waiting for an SMS PIN is dropped. Only the
     * operator lifts it (`unblock`); the customer then enrols a device again with a new activation code.
     */
    async block(customerId: string): Promise<{ customerId: string; status: 'blocked'; devices: string[] }> {
      await row(customerId);
      const devices = await q.tx(async (t) => {
        const rows = await t.all<{ id: string }>`SELECT id FROM devices
          WHERE customer_id = ${customerId} AND status = 'active'`;
        await t.run`UPDATE devices SET status = 'blocked' WHERE customer_id = ${customerId} AND status = 'active'`;
        await t.run`UPDATE customers SET status = 'blocked' WHERE id = ${customerId}`;
        await t.run`DELETE FROM sms_confirmations WHERE customer_id = ${customerId}`;
        return rows.map((r) => r.id);
      });
      for (const d of devices) deviceCache.delete(d);
      return { customerId, status: 'blocked', devices };
    },

    /** Lifts a block (operator only). Devices stay blocked: the customer enrols again with a new code. */
    async unblock(customerId: string): Promise<{ customerId: string; status: 'active' }> {
      await row(customerId);
      await q.run`UPDATE customers SET status = 'active' WHERE id = ${customerId}`;
      return { customerId, status: 'active' };
    },

    /**
     * Sets the customer's phone-less alias; others then reach them as `alias@<processor id>`. The blinded
     * address is published in the hub directory like a phone number.
     */
    async setAlias(customerId: string, alias: string, processorId: string): Promise<{ address: string }> {
      if (!ALIAS_RE.test(alias)) {
        throw new SemopsError('VALIDATION_FAILED', 'An alias is 2 to 32 of a-z, 0-9, ".", "-" and "_".');
      }
      const current = await row(customerId);
      const address = `${alias}@${processorId}`;
      try {
        await q.tx(async (t) => {
          await t.run`UPDATE customers SET alias = ${alias} WHERE id = ${customerId}`;
          if (current.alias && current.alias !== alias) {
            const old = blindAlias(deps.directoryKey, `${current.alias}@${processorId}`);
            await t.run`DELETE FROM directory_aliases WHERE alias = ${old} AND customer_id = ${customerId}`;
          }
          await t.run`INSERT INTO directory_aliases (alias, customer_id)
            VALUES (${blindAlias(deps.directoryKey, address)}, ${customerId}) ON CONFLICT (alias) DO NOTHING`;
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw new SemopsError('VALIDATION_FAILED', 'This alias is taken.');
        throw e;
      }
      return { address };
    },

    /** The customer behind a blinded phone number or address, if it is ours. */
    async findByBlindedAlias(alias: string): Promise<Customer | undefined> {
      const r =
        await q.one<CustomerRow>`SELECT c.* FROM directory_aliases d JOIN customers c ON c.id = d.customer_id
        WHERE d.alias = ${alias}`;
      return r ? toCustomer(r) : undefined;
    },

    /** The blinded directory alias of a phone number or `name@processor` address. */
    blind(phoneOrAddress: string): string {
      return blindAlias(deps.directoryKey, phoneOrAddress);
    },

    decryptPin,
  };
  return service;

  /** Opens a PIN JWE `{ pin }` addressed to this processor and checks its format. */
  async function decryptPin(jwe: string): Promise<string> {
    const payload = (await decryptJson(jwe, deps.encryptionKey)) as { pin?: unknown } | null;
    const pin = payload?.pin;
    if (typeof pin !== 'string' || !/^\d{4,6}$/.test(pin)) throw new SemopsError('PIN_FORMAT');
    return pin;
  }
}

export type CustomerService = ReturnType<typeof createCustomerService>;
