import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call } from '@semops/cli';
import { freshNetwork } from './helpers.js';

const eur = (value: string) => ({ value, currency: 'EUR' });

/** Bill payment and airtime endpoints: bad input gets a 4xx with a stable code and changes nothing. */
describe('bills and airtime: bad input', () => {
  let env: Awaited<ReturnType<typeof freshNetwork>>;
  let bankUrl: string;
  let mnoUrl: string;
  let mnoAdmin: string;
  let token: string;
  let mnoPhone: string;
  let bankPhone: string;
  let merchantId: string;
  const billerCode = '2021234';
  let snapshot: () => Promise<string>;

  beforeAll(async () => {
    env = await freshNetwork();
    const bank = env.net.processors.get('bank-a')!;
    const mno = env.net.processors.get('mno-b')!;
    bankUrl = bank.url;
    mnoUrl = mno.url;
    mnoAdmin = mno.admin.token;
    const payer = await env.ctx.customer('bank-a', 40_00n);
    token = payer.wallet.accessToken;
    bankPhone = (await env.ctx.customer('bank-a', 0n)).phone;
    mnoPhone = (await env.ctx.customer('mno-b', 0n)).phone;
    merchantId = (await env.ctx.merchant('mno-b', 'Power Co')).merchantId;
    const r = await call('POST', `${mnoUrl}/v1/admin/billers`, {
      token: mnoAdmin,
      body: { merchantId, billerCode, accountPattern: '[0-9]{6}', minAmount: '500', maxAmount: '20000' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    // The hub directory learns new phone numbers within a sync interval.
    await vi.waitFor(
      async () => {
        const a = await call('POST', `${bankUrl}/v1/wallet/airtime`, {
          token,
          body: { phone: mnoPhone, amount: eur('100') },
        });
        expect(a.status, JSON.stringify(a.body)).toBe(200);
      },
      { timeout: 8000, interval: 200 },
    );
    snapshot = async () =>
      [
        JSON.stringify(await bank.admin.ledger()),
        JSON.stringify(await mno.admin.ledger()),
        JSON.stringify(await call('GET', `${mnoUrl}/v1/admin/airtime-topups`, { token: mnoAdmin })),
      ].join('\n');
  }, 60_000);
  afterAll(async () => env?.close());

  async function expectCode(p: Promise<{ status: number; body: unknown }>, status: number, code: string) {
    const r = await p;
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect((r.body as { error?: { code?: string } }).error?.code).toBe(code);
  }
  const bill = (body: unknown) => call('POST', `${bankUrl}/v1/wallet/bills/resolve`, { token, body });
  const airtime = (body: unknown) => call('POST', `${bankUrl}/v1/wallet/airtime`, { token, body });

  it('resolves a good bill across processors', async () => {
    const r = await bill({ billerCode, account: '123456', amount: eur('1000') });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ processorId: 'mno-b', reference: '123456', kind: 'bill' });
  });

  it('refuses unknown biller codes, bad accounts and amounts out of range', async () => {
    const before = await snapshot();
    await expectCode(bill({ billerCode: '2029999', account: '123456' }), 404, 'BILLER_NOT_FOUND');
    await expectCode(bill({ billerCode: '9999999', account: '123456' }), 404, 'BILLER_NOT_FOUND');
    await expectCode(bill({ billerCode: '1019999', account: '123456' }), 404, 'BILLER_NOT_FOUND');
    await expectCode(bill({ billerCode, account: '12345' }), 422, 'ACCOUNT_REFERENCE_INVALID');
    await expectCode(bill({ billerCode, account: 'ABCDEF' }), 422, 'ACCOUNT_REFERENCE_INVALID');
    await expectCode(bill({ billerCode, account: '123456', amount: eur('100') }), 422, 'AMOUNT_OUT_OF_RANGE');
    await expectCode(
      bill({ billerCode, account: '123456', amount: eur('90000') }),
      422,
      'AMOUNT_OUT_OF_RANGE',
    );
    await expectCode(bill({ billerCode: '12a', account: '123456' }), 400, 'VALIDATION_FAILED');
    await expectCode(bill({ billerCode, account: '' }), 400, 'VALIDATION_FAILED');
    await expectCode(bill({ billerCode, account: '123456', extra: 1 }), 400, 'VALIDATION_FAILED');
    await expectCode(
      call('POST', `${bankUrl}/v1/wallet/bills/resolve`, { body: { billerCode, account: '123456' } }),
      401,
      'UNAUTHORIZED',
    );
    expect(await snapshot()).toBe(before);
  });

  it('refuses airtime for numbers no MNO serves and amounts out of range', async () => {
    const before = await snapshot();
    await expectCode(airtime({ phone: '+4369900000000', amount: eur('1000') }), 404, 'AIRTIME_NOT_AVAILABLE');
    await expectCode(airtime({ phone: bankPhone, amount: eur('1000') }), 404, 'AIRTIME_NOT_AVAILABLE');
    await expectCode(airtime({ phone: mnoPhone, amount: eur('50') }), 422, 'AMOUNT_OUT_OF_RANGE');
    await expectCode(airtime({ phone: mnoPhone, amount: eur('1000000') }), 422, 'AMOUNT_OUT_OF_RANGE');
    await expectCode(airtime({ phone: mnoPhone, amount: eur('0') }), 400, 'VALIDATION_FAILED');
    await expectCode(airtime({ phone: '0660123', amount: eur('1000') }), 400, 'VALIDATION_FAILED');
    await expectCode(
      airtime({ phone: mnoPhone, amount: { value: '1000', currency: 'USD' } }),
      422,
      'CURRENCY_MISMATCH',
    );
    expect(await snapshot()).toBe(before);
  });

  it('refuses bad biller registrations', async () => {
    const reg = (body: unknown, t = mnoAdmin) =>
      call('POST', `${mnoUrl}/v1/admin/billers`, { ...(t ? { token: t } : {}), body });
    await expectCode(reg({ merchantId, billerCode }), 409, 'BILLER_CODE_TAKEN');
    await expectCode(reg({ merchantId, billerCode: '1015555' }), 400, 'VALIDATION_FAILED');
    await expectCode(
      reg({ merchantId, billerCode: '2025555', accountPattern: '([' }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      reg({ merchantId, billerCode: '2025556', minAmount: '900', maxAmount: '100' }),
      400,
      'VALIDATION_FAILED',
    );
    await expectCode(
      reg({ merchantId: 'mer_00000000000000000000000000', billerCode: '2025557' }),
      404,
      'MERCHANT_NOT_FOUND',
    );
    await expectCode(reg({ merchantId, billerCode: '2025558' }, ''), 401, 'UNAUTHORIZED');
  });
});
