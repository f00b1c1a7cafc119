/**
 * Serves the built web pages (`packages/web/dist`: wallet, merchant POS, index) at `/app/`, so each page
 * talks to the API of the processor that served it (same origin, no CORS). When the pages are not built,
 * `/app/` answers a 404 error that says how to build them.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { SemopsError } from '@semops/protocol';

const here = dirname(fileURLToPath(import.meta.url));
/** The web build, found from this file (it sits in processor/src or processor/dist: both two levels down). */
export const WEB_DIST = join(here, '..', '..', 'web', 'dist');

export interface WebPagesOptions {
  /** Folder of the built pages; defaults to `SEMOPS_WEB_DIR` or `packages/web/dist`. */
  readonly root?: string;
}

/**
 * Pages may only load their own scripts and talk to their own processor; the camera is allowed for QR
 * scanning. The pages put payment codes in the URL (`?code=`), so no referrer leaves them.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; " +
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'permissions-policy': 'camera=(self), microphone=(), geolocation=()',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** Registers `/app/` (the web pages) on a processor's HTTP server. */
export async function registerWebPages(app: FastifyInstance, opts: WebPagesOptions = {}): Promise<void> {
  const root = opts.root ?? process.env.SEMOPS_WEB_DIR ?? WEB_DIST;
  if (!existsSync(join(root, 'index.html'))) {
    const notBuilt = async () => {
      throw new SemopsError(
        'NOT_FOUND',
        'The web pages are not built on this node; run `npm run build` at the repository root, then restart.',
      );
    };
    app.get('/app', notBuilt);
    app.get('/app/*', notBuilt);
    return;
  }
  app.get('/app', (_req, reply) => reply.redirect('/app/', 301));
  await app.register(fastifyStatic, {
    root,
    prefix: '/app/',
    index: 'index.html',
    redirect: true,
    wildcard: true,
    decorateReply: false,
    // Cache-Control is set below, per file.
    cacheControl: false,
    setHeaders(res, path) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      // Hashed build assets never change; pages, manifest and service worker are checked on every load.
      res.setHeader(
        'cache-control',
        /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
