/**
 * The operator's key commands, the same at every node (`semops keys …`), each audited at the node as an
 * operator call:
 *   GET  /v1/admin/keys          the current key, the next one and the published history
 *   POST /v1/admin/keys/rotate   `{ overlapMs? }`: publish the next key, sign with it from now on; the replaced
 *                                key stays accepted for the overlap (default 15 min)
 *   POST /v1/admin/keys/retire   `{ kid? }`: end the overlap of the replaced key now
 * Where the keys are published is the node's business (`KeyPublisher`): a processor registers the statement
 * at the hub (signed by its current key); the hub is the registry itself.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEFAULT_KEY_OVERLAP_MS, MAX_KEY_OVERLAP_MS, SemopsError, keyId } from '@semops/protocol';
import { parse, requireAdmin } from './http.js';
import type { NodeKeyring } from './keys.js';

export interface KeyPublisher {
  /** Registers a rotation where peers look up this node's keys; returns until when the replaced key counts. */
  rotate(statement: string, proof: string): Promise<{ previousUntil: number }>;
  /** Registers a retirement; returns from when the key is refused. */
  retire(statement: string): Promise<{ until: number }>;
}

export interface KeyRoutesDeps {
  readonly keyring: NodeKeyring;
  readonly adminToken: string;
  readonly publisher: KeyPublisher;
  readonly now: () => number;
}

const rotateBody = z.strictObject({
  overlapMs: z.number().int().min(0).max(MAX_KEY_OVERLAP_MS).default(DEFAULT_KEY_OVERLAP_MS),
});
const retireBody = z.strictObject({ kid: keyId.optional() });

export function registerKeyRoutes(app: FastifyInstance, deps: KeyRoutesDeps): void {
  const { keyring, now } = deps;
  const view = () => ({
    node: keyring.nodeId,
    current: keyring.current().kid,
    next: keyring.nextKid(),
    keys: keyring.published(),
    statements: keyring.statements().length,
  });

  app.get('/v1/admin/keys', async (req) => {
    requireAdmin(req, deps.adminToken);
    return view();
  });

  app.post('/v1/admin/keys/rotate', async (req) => {
    requireAdmin(req, deps.adminToken);
    const { overlapMs } = parse(rotateBody, req.body ?? {});
    // Another instance may have rotated: start from the file as it is.
    await keyring.reload();
    const previous = keyring.current().kid;
    const { statement, proof } = await keyring.proposeRotation(overlapMs, now());
    const { previousUntil } = await deps.publisher.rotate(statement, proof);
    await keyring.commitRotation(statement, previousUntil);
    return { ...view(), previous, previousUntil };
  });

  app.post('/v1/admin/keys/retire', async (req) => {
    requireAdmin(req, deps.adminToken);
    const body = parse(retireBody, req.body ?? {});
    await keyring.reload();
    const t = now();
    const kid =
      body.kid ?? keyring.published().find((k, i) => i > 0 && k.until !== undefined && k.until > t)?.kid;
    if (!kid)
      throw new SemopsError('KEY_ROTATION_INVALID', 'No earlier key is still accepted: nothing to retire.');
    if (!keyring.published().some((k, i) => i > 0 && k.kid === kid)) {
      throw new SemopsError('KEY_ROTATION_INVALID', `${kid} is not an earlier key of ${keyring.nodeId}.`);
    }
    const statement = await keyring.proposeRetire(kid, t);
    const { until } = await deps.publisher.retire(statement);
    await keyring.commitRetire(statement);
    return { ...view(), retired: kid, until };
  });
}
