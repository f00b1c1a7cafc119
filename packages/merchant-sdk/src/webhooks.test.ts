import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebhookSignatureError } from './errors.js';
import { isPaymentCompleted, signWebhook, verifyWebhook } from './webhooks.js';

const SECRET = 'whsec_test_0123456789';
const NOW = 1_750_000_000_000;
const now = () => NOW;
const body = JSON.stringify({
  id: 'evt_01',
  type: 'payment.completed',
  createdAt: NOW - 5,
  data: {
    paymentId: 'pay_01',
    requestId: 'req_01',
    amount: { value: '1250', currency: 'EUR' },
    reference: 'ord_1',
  },
});

/** The processor's algorithm, written independently of the SDK (node:crypto, as the processor signs). */
function processorSignature(secret: string, raw: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${raw}`).digest('hex')}`;
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof WebhookSignatureError) return e.reason;
    throw e;
  }
}

describe('verifyWebhook', () => {
  it('accepts a delivery signed as the processor signs it, as string or bytes', async () => {
    const header = processorSignature(SECRET, body, NOW - 1000);
    const event = await verifyWebhook(body, header, SECRET, { now });
    expect(event).toMatchObject({ id: 'evt_01', type: 'payment.completed' });
    expect(isPaymentCompleted(event)).toBe(true);
    await expect(verifyWebhook(new TextEncoder().encode(body), header, SECRET, { now })).resolves.toEqual(
      event,
    );
  });

  it('signs exactly like the processor', async () => {
    expect(await signWebhook(body, SECRET, NOW)).toBe(processorSignature(SECRET, body, NOW));
  });

  it('refuses a tampered body', async () => {
    const header = processorSignature(SECRET, body, NOW);
    const tampered = body.replace('"1250"', '"125000"');
    expect(await reason(verifyWebhook(tampered, header, SECRET, { now }))).toBe('SIGNATURE_MISMATCH');
    // Re-serialised JSON (whitespace) is not the signed body either.
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    expect(await reason(verifyWebhook(reformatted, header, SECRET, { now }))).toBe('SIGNATURE_MISMATCH');
  });

  it('refuses a signature made with another secret', async () => {
    const header = processorSignature('whsec_other', body, NOW);
    expect(await reason(verifyWebhook(body, header, SECRET, { now }))).toBe('SIGNATURE_MISMATCH');
  });

  it('refuses a timestamp changed after signing', async () => {
    const header = processorSignature(SECRET, body, NOW).replace(`t=${NOW}`, `t=${NOW + 1}`);
    expect(await reason(verifyWebhook(body, header, SECRET, { now }))).toBe('SIGNATURE_MISMATCH');
  });

  it('refuses a stale or future timestamp beyond the tolerance, and takes one within it', async () => {
    const old = processorSignature(SECRET, body, NOW - 5 * 60_000 - 1);
    expect(await reason(verifyWebhook(body, old, SECRET, { now }))).toBe('TIMESTAMP_OUT_OF_TOLERANCE');
    const future = processorSignature(SECRET, body, NOW + 5 * 60_000 + 1);
    expect(await reason(verifyWebhook(body, future, SECRET, { now }))).toBe('TIMESTAMP_OUT_OF_TOLERANCE');
    const edge = processorSignature(SECRET, body, NOW - 5 * 60_000);
    expect(await reason(verifyWebhook(body, edge, SECRET, { now }))).toBe('OK');
    const tight = processorSignature(SECRET, body, NOW - 2000);
    expect(await reason(verifyWebhook(body, tight, SECRET, { now, toleranceMs: 1000 }))).toBe(
      'TIMESTAMP_OUT_OF_TOLERANCE',
    );
  });

  it('refuses missing and malformed headers', async () => {
    const good = processorSignature(SECRET, body, NOW);
    const v1 = good.split(',')[1]!;
    expect(await reason(verifyWebhook(body, undefined, SECRET, { now }))).toBe('MISSING_HEADER');
    expect(await reason(verifyWebhook(body, '', SECRET, { now }))).toBe('MISSING_HEADER');
    for (const header of [
      'garbage',
      v1, // no timestamp
      `t=${NOW}`, // no signature
      `t=abc,${v1}`,
      `t=${NOW},t=${NOW},${v1}`,
      `t=${NOW},=x`,
    ]) {
      expect(await reason(verifyWebhook(body, header, SECRET, { now })), header).toBe('MALFORMED_HEADER');
    }
    for (const header of [
      `t=${NOW},v1=zz`,
      `t=${NOW},v1=${'0'.repeat(64)}`,
      `t=${NOW},v1=${'ab'.repeat(33)}`,
    ]) {
      expect(await reason(verifyWebhook(body, header, SECRET, { now })), header).toBe('SIGNATURE_MISMATCH');
    }
  });

  it('accepts when one of several v1 signatures matches (secret rotation) and ignores unknown schemes', async () => {
    const good = processorSignature(SECRET, body, NOW).split(',')[1]!;
    const header = `t=${NOW},v1=${'0'.repeat(64)},${good},v9=whatever`;
    expect(await reason(verifyWebhook(body, header, SECRET, { now }))).toBe('OK');
  });

  it('refuses a correctly signed body that is not a SEMOPS event', async () => {
    for (const raw of ['not json', '[]', '{"id":"evt_1","type":"x"}']) {
      const header = processorSignature(SECRET, raw, NOW);
      expect(await reason(verifyWebhook(raw, header, SECRET, { now })), raw).toBe('MALFORMED_BODY');
    }
  });

  it('narrows only well-formed payment.completed events', () => {
    const base = { id: 'evt_1', createdAt: NOW };
    expect(isPaymentCompleted({ ...base, type: 'payment.refunded', data: {} })).toBe(false);
    expect(isPaymentCompleted({ ...base, type: 'payment.completed', data: { paymentId: 'pay_1' } })).toBe(
      false,
    );
  });
});
