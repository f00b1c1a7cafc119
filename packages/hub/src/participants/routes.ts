/**
 * HTTP edge of the registry: the public participant list and hub info, and the operator's registration.
 */
import type { FastifyInstance } from 'fastify';
import { parse, requireAdmin, type NodeKeyring } from '@semops/node';
import { SemopsError, participant, processorId, z } from '@semops/protocol';
import { HUB_ID, type ParticipantService } from './service.js';

export interface ParticipantRoutesDeps {
  readonly participants: ParticipantService;
  readonly adminToken: string;
  /** The hub's own keys: published with the chain of its rotation statements. */
  readonly hubKeys: NodeKeyring;
}

const idParams = z.strictObject({ id: processorId });

export function registerParticipantRoutes(app: FastifyInstance, deps: ParticipantRoutesDeps): void {
  // `statements` lets a processor that pinned an earlier hub key follow each rotation from it (hub-keys.ts).
  app.get('/v1/info', async () => ({
    id: HUB_ID,
    signingKey: deps.hubKeys.current().key,
    signingKeys: deps.hubKeys.published(),
    statements: deps.hubKeys.statements(),
  }));

  app.get('/v1/participants', async () => ({ participants: deps.participants.list() }));

  app.put('/v1/admin/participants/:id', async (req, reply) => {
    requireAdmin(req, deps.adminToken);
    const { id } = parse(idParams, req.params);
    const body = parse(participant, req.body);
    if (body.id !== id)
      throw new SemopsError('VALIDATION_FAILED', 'The id in the path and in the body differ.');
    const { participant: saved, created } = await deps.participants.register(body);
    return reply.code(created ? 201 : 200).send(saved);
  });
}
