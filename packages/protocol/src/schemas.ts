/**
 * zod schemas for everything that crosses a wire: money, participants, signed tokens and node messages.
 * Types are derived from the schemas, so the edge and the inside agree.
 */
import { z } from 'zod';
import { currencyInfo, MAX_MINOR_UNITS } from './money.js';
import { idPattern } from './ids.js';

export const currencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, 'an ISO 4217 alpha code such as EUR')
  .refine((c) => currencyInfo(c) !== undefined, 'a currency SEMOPS supports');

/** Positive minor units as a decimal string, at most 9e18. */
export const minorUnits = z
  .string()
  .regex(/^[1-9]\d{0,18}$/, 'a positive whole number of minor units, as a string')
  .refine((v) => /^\d+$/.test(v) && BigInt(v) <= MAX_MINOR_UNITS, 'at most 9000000000000000000');

/** Zero or positive minor units as a decimal string, at most 9e18 (fees, margins). */
export const nonNegativeMinorUnits = z
  .string()
  .regex(/^(0|[1-9]\d{0,18})$/, 'a whole number of minor units (0 or more), as a string')
  .refine((v) => BigInt(v) <= MAX_MINOR_UNITS, 'at most 9000000000000000000');

export const moneyWire = z.strictObject({ value: minorUnits, currency: currencyCode });
export type MoneyWireT = z.infer<typeof moneyWire>;

export const processorId = z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'a processor id such as bank-a');
export const routingPrefix = z.string().regex(/^[1-9]\d{2}$/, 'three digits, not starting with 0');
export const requestId = z.string().regex(idPattern('req'), 'a request id req_…');
export const paymentId = z.string().regex(idPattern('pay'), 'a payment id pay_…');
export const shortCode = z.string().regex(/^\d{10}$/, 'a 10-digit payment code');
/**
 * What a trace id may look like: the W3C trace id of a `traceparent` header (32 hex digits), a request id a
 * client sent in `x-request-id`, or one a node made. Opaque; never carries customer data.
 */
export const TRACE_ID_PATTERN = /^[\w.:-]{1,64}$/;
export const traceId = z.string().regex(TRACE_ID_PATTERN, '1 to 64 letters, digits, or . _ : -');
export const compactJws = z
  .string()
  .max(16_384)
  .regex(/^[\w-]+\.[\w-]+\.[\w-]+$/, 'a compact JWS');
export const compactJwe = z
  .string()
  .max(16_384)
  .regex(/^[\w-]*\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/, 'a compact JWE');

export const okpJwk = z.object({ kty: z.literal('OKP'), crv: z.string(), x: z.string().max(128) });

/** A participant (processor) as the hub registers and publishes it. */
export const participant = z.strictObject({
  id: processorId,
  name: z.string().min(1).max(100),
  kind: z.enum(['bank', 'mno']),
  baseUrl: z.url({ protocol: /^https?$/ }),
  currencies: z.array(currencyCode).min(1).max(20),
  routingPrefix,
  signingKey: okpJwk,
  encryptionKey: okpJwk,
  /**
   * SHA-256 fingerprint of the TLS certificate of `baseUrl` (64 hex digits, colons allowed): the hub connects
   * to this processor only when it presents that certificate (pinning; for an `https` baseUrl).
   */
  tlsCertSha256: z
    .string()
    .regex(/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'a SHA-256 fingerprint: 64 hex digits')
    .transform((v) => v.replaceAll(':', '').toLowerCase())
    .optional(),
});
export type Participant = z.infer<typeof participant>;

export const merchantInfo = z.strictObject({
  id: z.string().max(40),
  name: z.string().max(100),
  city: z.string().max(60),
  category: z.string().regex(/^\d{4}$/, 'a 4-digit merchant category code'),
});
export type MerchantInfo = z.infer<typeof merchantInfo>;

/** Payload of a payment request token, signed by the payee processor (typ `semops-request+jws`). */
export const requestToken = z.strictObject({
  requestId,
  processorId,
  merchant: merchantInfo,
  currency: currencyCode,
  amount: moneyWire.optional(),
  minAmount: moneyWire.optional(),
  maxAmount: moneyWire.optional(),
  reference: z.string().max(140),
  description: z.string().max(500).optional(),
  reusable: z.boolean(),
  shortCode,
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
  /** Use cases: a parking zone (with a per-minute tariff) or an event ticket; absent for a plain payment. */
  kind: z.enum(['parking', 'ticket']).optional(),
  zone: z.string().max(80).optional(),
  event: z.string().max(140).optional(),
  tariff: z
    .strictObject({
      perMinute: minorUnits,
      minMinutes: z.number().int().min(1).max(525_600),
      maxMinutes: z.number().int().min(1).max(525_600),
    })
    .optional(),
  /** Online checkout: where the wallet may send the customer back after the payment. */
  returnUrl: z.string().max(2000).optional(),
});
export type RequestToken = z.infer<typeof requestToken>;
export const REQUEST_TYP = 'semops-request+jws';

/** Payload of a payment receipt, signed by the payee processor (typ `semops-receipt+jws`). */
export const receipt = z.strictObject({
  receiptId: z.string().max(40),
  paymentId,
  requestId,
  processorId,
  merchant: merchantInfo,
  amount: moneyWire,
  reference: z.string().max(140),
  acceptedAt: z.number().int(),
  /** A parking permit or event ticket: what the receipt entitles to, checked offline by its signature. */
  kind: z.enum(['parking', 'ticket']).optional(),
  zone: z.string().max(80).optional(),
  event: z.string().max(140).optional(),
  minutes: z.number().int().positive().optional(),
  validFrom: z.number().int().optional(),
  validUntil: z.number().int().optional(),
});
export type Receipt = z.infer<typeof receipt>;
export const RECEIPT_TYP = 'semops-receipt+jws';

/** Payload of a customer's approval, signed by the device key (typ `semops-approval+jws`, kid = device id). */
export const approval = z.strictObject({
  deviceId: z.string().max(40),
  requestId,
  payee: processorId,
  amount: moneyWire,
  nonce: z.string().regex(/^[\w-]{16,64}$/, '16 to 64 url-safe characters'),
  expiresAt: z.number().int(),
  pin: compactJwe,
  /**
   * Cross-currency payments: the id of the FX quote the customer was shown (rate, fee, total in their own
   * currency). The payer processor refuses the approval when that quote has expired (QUOTE_EXPIRED).
   */
  quoteId: z.string().regex(idPattern('fxq'), 'a quote id fxq_…').optional(),
});
export type Approval = z.infer<typeof approval>;
export const APPROVAL_TYP = 'semops-approval+jws';
/** Longest an approval may live. */
export const MAX_APPROVAL_TTL_MS = 5 * 60_000;

/**
 * What a device-signed account action may do. Each changes a credential or what may be paid, so a bearer
 * token alone never suffices: the action carries the current PIN (JWE to the processor) and is signed by the
 * enrolled device key (typ `semops-action+jws`, kid = device id), once per nonce.
 */
export const DEVICE_ACTIONS = ['device.new-activation', 'pin.change', 'limits.set', 'alias.set'] as const;
export type DeviceActionName = (typeof DEVICE_ACTIONS)[number];
export const deviceAction = z.strictObject({
  deviceId: z.string().max(40),
  action: z.enum(DEVICE_ACTIONS),
  nonce: z.string().regex(/^[\w-]{16,64}$/, '16 to 64 url-safe characters'),
  expiresAt: z.number().int(),
  pin: compactJwe,
  /** What the action sets (new limits, alias, the new PIN as a JWE): signed with it, so it cannot be swapped. */
  params: z.record(z.string(), z.unknown()),
});
export type DeviceAction = z.infer<typeof deviceAction>;
export const ACTION_TYP = 'semops-action+jws';

// ---- Node messages (envelope bodies) ----

export const requestRef = z.union([
  z.strictObject({ processorId, requestId }),
  z.strictObject({ shortCode }),
]);
export type RequestRef = z.infer<typeof requestRef>;

/** `request.lookup`: payer PP → hub, and hub → payee PP (with `requester`). */
export const requestLookup = z.strictObject({ ref: requestRef, requester: processorId.optional() });
/** Answer: the signed request token, encrypted to the requester so the hub relays what it cannot read. */
export const requestLookupResult = z.strictObject({ sealed: compactJwe });

/**
 * `request.lookups`: several lookups in one message (payer PP → hub, and hub → each payee PP with
 * `requester`), so that the payments resolved at one moment share one signature and one HTTP exchange per
 * hop. The answer has one result per ref, in order: the sealed token, or why that one failed.
 */
export const MAX_LOOKUPS = 100;
export const requestLookups = z.strictObject({
  refs: z.array(requestRef).min(1).max(MAX_LOOKUPS),
  requester: processorId.optional(),
});
export const lookupOutcome = z.union([
  z.strictObject({ sealed: compactJwe }),
  z.strictObject({ error: z.strictObject({ code: z.string().max(40), message: z.string().max(300) }) }),
]);
export type LookupOutcome = z.infer<typeof lookupOutcome>;
export const requestLookupsResult = z.strictObject({ results: z.array(lookupOutcome).max(MAX_LOOKUPS) });

/** The fees the hub applies to a transfer, in minor units of the transfer's currency. */
export const transferFees = z.strictObject({
  msc: nonNegativeMinorUnits,
  interchange: nonNegativeMinorUnits,
});
export type TransferFees = z.infer<typeof transferFees>;

export const transferPrepare = z.strictObject({
  transferId: paymentId,
  requestId,
  payer: processorId,
  payee: processorId,
  amount: moneyWire,
  expiresAt: z.number().int(),
  /**
   * A refund (restitution): the id of the original payment, which the payee of this transfer (the original
   * payer processor) made. It credits the customer who paid; the merchant never learns who that was.
   */
  refundOf: paymentId.optional(),
  /**
   * What the transfer pays for: `purchase` (a merchant's request; the hub's fee schedule applies) or `p2p`
   * (a person, a refund: no fees). Absent means `p2p`. The payee processor checks it against its request.
   */
  purpose: z.enum(['purchase', 'p2p']).optional(),
  /**
   * Set by the hub only (it overwrites what a payer sends): the fees of the hub's schedule for this transfer,
   * in the transfer's currency — the merchant service charge the payee processor keeps and the interchange
   * it pays to the payer processor out of it.
   */
  fees: transferFees.optional(),
  /**
   * Set by a payer processor that converted the customer's money: the amount debited in the customer's
   * currency, the FX margin it kept and its conversion fee. Reported in the settlement report; never names
   * the customer.
   */
  fx: z
    .strictObject({
      source: moneyWire,
      margin: z.strictObject({ value: nonNegativeMinorUnits, currency: currencyCode }),
      /** The converting processor's fixed conversion fee, in the customer's currency (absent: none). */
      fee: z.strictObject({ value: nonNegativeMinorUnits, currency: currencyCode }).optional(),
      rate: z.string().max(40),
    })
    .optional(),
  /**
   * The trace id of the customer's request that started the transfer, passed on by the hub to the payee, so
   * that every node's log lines for the payment carry it. Not part of the transfer's content (its digest).
   */
  traceId: traceId.optional(),
});
export type TransferPrepare = z.infer<typeof transferPrepare>;

/** `transfer.prepare`: payer PP → hub → payee PP. Carries many transfers at once. */
export const prepareBatch = z.strictObject({ transfers: z.array(transferPrepare).min(1).max(500) });

export const errorInfo = z.strictObject({ code: z.string().max(40), message: z.string().max(300) });

/**
 * Payee PP's answer to a forwarded prepare: fulfil or reject. The answer travels in the payee's signed
 * envelope, which is the fulfilment the hub commits on. `receipt` is the payee's signed receipt sealed
 * (JWE, `{ receipt }`) to the payer processor: it names the merchant, which the hub must not learn.
 */
export const fulfilResult = z.strictObject({
  transferId: paymentId,
  decision: z.enum(['FULFIL', 'REJECT']),
  receipt: compactJwe.optional(),
  error: errorInfo.optional(),
});
export const fulfilBatch = z.strictObject({ results: z.array(fulfilResult).max(500) });
export type FulfilResult = z.infer<typeof fulfilResult>;

export const transferState = z.enum(['RESERVED', 'COMMITTED', 'ABORTED', 'UNKNOWN']);
export type TransferState = z.infer<typeof transferState>;

/** Hub's answer to a prepare, per transfer; `receipt` is passed on sealed, as the payee made it. */
export const prepareResult = z.strictObject({
  transferId: paymentId,
  state: transferState,
  receipt: compactJwe.optional(),
  error: errorInfo.optional(),
  /** The hub's fees for the transfer (purchases): the payer processor books the interchange it receives. */
  fees: transferFees.optional(),
});
export const prepareResultBatch = z.strictObject({ results: z.array(prepareResult).max(500) });
export type PrepareResult = z.infer<typeof prepareResult>;

/** `transfer.notify`: hub → processors, the outcome of transfers. */
export const transferEvent = z.strictObject({
  transferId: paymentId,
  state: z.enum(['COMMITTED', 'ABORTED']),
  reason: z.string().max(40).optional(),
  fees: transferFees.optional(),
});
export const notifyBatch = z.strictObject({ events: z.array(transferEvent).min(1).max(500) });
export type TransferEvent = z.infer<typeof transferEvent>;

/** `transfer.status`: processor → hub, for reconciliation after a restart. */
export const statusQuery = z.strictObject({ transferIds: z.array(paymentId).min(1).max(500) });
export const statusResult = z.strictObject({
  transfers: z.array(
    z.strictObject({
      transferId: paymentId,
      state: transferState,
      amount: moneyWire.optional(),
      payer: processorId.optional(),
      payee: processorId.optional(),
      expiresAt: z.number().int().optional(),
      reason: z.string().max(40).optional(),
      fees: transferFees.optional(),
    }),
  ),
});

/** A signed amount of minor units (a net settlement position): `-1250`, `0`, `4990`. */
export const signedMinorUnits = z.string().regex(/^(0|-?[1-9]\d{0,18})$/, 'a signed integer of minor units');

/**
 * `settlement.notice`: hub → each processor when a settlement window closes: its net position per currency
 * for the window (positive: it receives; negative: it pays). The processor books it against its settlement
 * account, idempotently by window and currency, and answers `{ booked: true }`.
 */
export const settlementNotice = z.strictObject({
  windowId: z.string().regex(idPattern('win'), 'a window id win_…'),
  openedAt: z.number().int(),
  closedAt: z.number().int(),
  positions: z.array(z.strictObject({ currency: currencyCode, net: signedMinorUnits })).max(200),
});
export type SettlementNotice = z.infer<typeof settlementNotice>;
export const settlementNoticeResult = z.strictObject({ booked: z.boolean() });

/** Blinded alias of a phone number or address (HMAC-SHA256 hex with the network's directory key). */
export const blindedAlias = z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits');
/** `directory.register`: processor → hub. */
export const directoryRegister = z.strictObject({ aliases: z.array(blindedAlias).min(1).max(1000) });
/** `directory.lookup`: processor → hub. */
export const directoryLookup = z.strictObject({ alias: blindedAlias });
export const directoryLookupResult = z.strictObject({ processorId });

/**
 * `party.lookup` (P2P): payer PP → hub → payee PP (with `requester`). The payee PP finds its customer by the
 * blinded alias and answers with a short-lived request payable to that customer, its token sealed to the
 * requester (`{ token }`): the hub learns neither who pays nor who is paid.
 */
export const partyLookup = z.strictObject({
  processorId,
  alias: blindedAlias,
  requester: processorId.optional(),
});
export const partyLookupResult = requestLookupResult;

/**
 * `inbox.deliver` (request money): requester PP → hub → payer PP. `sealed` is a JWE to the payer PP of
 * `{ alias, token }`: the blinded alias of the payer and the signed request payable to the requester.
 */
export const inboxDeliver = z.strictObject({
  processorId,
  sealed: compactJwe,
  requester: processorId.optional(),
});
/** `inbox.declined`: payer PP → hub → requester PP, best effort: the payer declined the request. */
export const inboxDeclined = z.strictObject({
  processorId,
  requestId,
  requester: processorId.optional(),
});

/**
 * `biller.lookup` (bills, airtime): payer PP → hub → payee PP (with `requester`). `sealed` is a JWE to the
 * payee PP of `{ billerCode, account, amount? }` or `{ airtime: phone, amount }`; the answer is a single-use
 * request for that biller with the account (or phone) as reference, its token sealed to the requester.
 */
export const billerLookup = z.strictObject({
  processorId,
  sealed: compactJwe,
  requester: processorId.optional(),
});

/** Phone numbers in E.164 form. */
export const phoneNumber = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, 'a phone number in E.164 form, e.g. +43660123456');
export const pinText = z.string().regex(/^\d{4,6}$/, '4 to 6 digits');

/** How often a mandate pays: a calendar step, or a number of seconds (tests), at most a year. */
const MAX_MANDATE_INTERVAL_S = 366 * 86_400;
export const mandateInterval = z.union([
  z.enum(['daily', 'weekly', 'monthly']),
  z.number().int().min(1).max(MAX_MANDATE_INTERVAL_S),
]);
/**
 * Payload of a customer's mandate (scheduled or recurring payment) for a reusable request, signed once by the
 * device key (typ `semops-mandate+jws`, kid = device id) with the PIN: each instalment pays `amount` (at most
 * `maxAmount`) to `payee`, at most once per `interval` from `startAt`, until `endAt` or `count` instalments.
 */
export const mandate = z.strictObject({
  deviceId: z.string().max(40),
  requestId,
  payee: processorId,
  maxAmount: moneyWire,
  amount: moneyWire,
  interval: mandateInterval,
  startAt: z.number().int(),
  endAt: z.number().int().optional(),
  count: z.number().int().min(1).max(10_000).optional(),
  nonce: z.string().regex(/^[\w-]{16,64}$/, '16 to 64 url-safe characters'),
  expiresAt: z.number().int(),
  pin: compactJwe,
});
export type Mandate = z.infer<typeof mandate>;
export const MANDATE_TYP = 'semops-mandate+jws';
