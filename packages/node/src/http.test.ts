import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createAdmission, createServer } from './http.js';

/** Past capacity a node refuses at once with 503 OVERLOADED and Retry-After, before doing anything. */
describe('admission control', () => {
  let app: FastifyInstance;
  let release: () => void = () => undefined;
  let started = 0;
  const admission = createAdmission({ maxInFlight: 2, retryAfterSeconds: 3 });

  beforeAll(async () => {
    app = createServer();
    const gate = new Promise<void>((r) => (release = r));
    app.post('/work', async () =>
      admission.run(async () => {
        started += 1;
        await gate;
        return { ok: true };
      }),
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => app.close());

  it('admits up to the limit, refuses the rest with Retry-After, and admits again once work ends', async () => {
    const held = [app.inject({ method: 'POST', url: '/work' }), app.inject({ method: 'POST', url: '/work' })];
    await expect.poll(() => admission.inFlight).toBe(2);
    const refused = await app.inject({ method: 'POST', url: '/work' });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('3');
    expect(refused.json()).toMatchObject({ error: { code: 'OVERLOADED' } });
    expect(started).toBe(2);
    release();
    expect((await Promise.all(held)).map((r) => r.statusCode)).toEqual([200, 200]);
    expect(admission.inFlight).toBe(0);
    const again = await app.inject({ method: 'POST', url: '/work' });
    expect(again.statusCode).toBe(200);
  });
});
