import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { packageRoot } from '../../common/index.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

// Everything the page needs comes from this agent: no CDN, no inline script, works offline.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * The web UI at /ui/ (as Consul serves its own; / redirects there): the files `npm run build:ui`
 * bundles into ui/dist, read once. It uses the same HTTP API as the CLI, with the visitor's token.
 */
export function registerUiRoutes(app: FastifyInstance, dir = join(packageRoot(), 'ui', 'dist')): void {
  const files = new Map<string, Buffer | null>();
  const file = (name: string): Buffer | null => {
    if (!files.has(name)) {
      try {
        files.set(name, readFileSync(join(dir, name)));
      } catch {
        files.set(name, null);
      }
    }
    return files.get(name) ?? null;
  };
  const serve = (reply: FastifyReply, wanted: string) => {
    // Only the bundle's own file names; anything else (a client-side page) gets the page itself.
    const name = /^[A-Za-z0-9_-]+\.(js|css|map|html)$/.test(wanted) ? wanted : 'index.html';
    const body = file(name);
    if (!body) {
      if (name !== 'index.html') return reply.code(404).type('text/plain; charset=utf-8').send(`Unsupported path: /ui/${wanted}`);
      return reply.code(503).type('text/plain; charset=utf-8').send('The web UI is not built: run `npm run build:ui` (or `npm run build`)');
    }
    return reply
      .header('Content-Security-Policy', CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Cache-Control', name === 'index.html' ? 'no-cache' : 'max-age=300')
      .type(TYPES[extname(name)] ?? 'application/octet-stream')
      .send(body);
  };
  app.get('/', async (_request, reply) => reply.redirect('/ui/'));
  // The server ignores trailing slashes in routing: /ui and /ui/ both land here. /ui (without the
  // slash) is redirected, or the page's relative URLs would resolve one level up.
  app.get('/ui', async (request, reply) => ((request.url.split('?')[0] ?? '').endsWith('/') ? serve(reply, '') : reply.redirect('/ui/')));
  app.get('/ui/*', async (request, reply) => serve(reply, (request.params as { '*': string })['*']));
}
