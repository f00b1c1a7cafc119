/** Mandates (scheduled and recurring payments): wiring for the composition root. */
import type { FastifyInstance } from 'fastify';
import { createMandateService, type MandateDeps } from './service.js';
import { registerMandateRoutes } from './routes.js';

/** Creates the mandate service and registers its routes; the caller starts and stops its job. */
export function setupMandates(app: FastifyInstance, deps: MandateDeps) {
  const mandates = createMandateService(deps);
  registerMandateRoutes(app, { customers: deps.customers, mandates });
  return mandates;
}
