/**
 * The web page (src/web/, docs/web.md) at `/`, on the API's own origin so that its
 * session cookie and CSRF header apply. Four files, served from memory with a strict
 * Content-Security-Policy: the page runs only its own script, and connects only to this
 * server (the API and the live channel).
 *
 * Where the files come from: in the package (dist/server/web.js) `npm run build` has put
 * them in dist/web/. Run from the sources (`npm start` through tsx), src/web/ holds the
 * page's TypeScript, not its bundle: the script is bundled then, with esbuild (a
 * devDependency, there after `npm install`), on its first request.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/**
 * No inline script or style, nothing from another origin; `connect-src 'self'` covers
 * the live channel's ws:/wss: on this origin too (CSP Level 3).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every file of the page. */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  // Revalidated every time (cheap: an ETag), so that a new version shows on reload.
  'cache-control': 'no-cache',
};

const FILES = {
  '/': { name: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { name: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { name: 'style.css', type: 'text/css; charset=utf-8' },
  '/icon.svg': { name: 'icon.svg', type: 'image/svg+xml' },
} as const;

interface Asset {
  body: Buffer;
  etag: string;
}

export interface WebPageOptions {
  /** The page is served over https (every allowed origin is): browsers are told to keep to it. */
  secure: boolean;
}

/** Registers the page's routes (hidden from the OpenAPI document: they are not the API). */
export function webPage(app: FastifyInstance, options: WebPageOptions): void {
  const folder = new URL('../web/', import.meta.url);
  const assets = new Map<string, Promise<Asset>>();
  const asset = (name: string): Promise<Asset> => {
    let loading = assets.get(name);
    if (!loading) {
      loading = load(folder, name).then((body) => ({
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      }));
      // A failure is not kept: the next request tries again.
      loading.catch(() => assets.delete(name));
      assets.set(name, loading);
    }
    return loading;
  };
  for (const [path, file] of Object.entries(FILES)) {
    app.get(
      path,
      { config: { public: true }, schema: { hide: true } },
      async (request: FastifyRequest, reply: FastifyReply) => {
        let found: Asset;
        try {
          found = await asset(file.name);
        } catch (error) {
          request.log.error({ err: error }, `the web page's ${file.name} cannot be loaded`);
          throw new HttpError(
            503,
            'page_unavailable',
            'the web page is not built: run `npm run build` (or install the devDependencies)',
          );
        }
        reply.headers(PAGE_HEADERS);
        if (options.secure) reply.header('strict-transport-security', 'max-age=31536000');
        reply.header('etag', found.etag).type(file.type);
        if (request.headers['if-none-match'] === found.etag) return reply.status(304).send();
        return reply.send(found.body);
      },
    );
  }
}

/** One of the page's files: built already (the package), or the script bundled from src/web/. */
async function load(folder: URL, name: string): Promise<Buffer> {
  const built = new URL(name, folder);
  if (name !== 'app.js' || existsSync(built)) return readFile(built);
  // Run from the sources: the build script bundles the page (it imports esbuild).
  const script = new URL('../../scripts/build-web.mjs', import.meta.url).href;
  const { bundleWebPage } = (await import(script)) as { bundleWebPage: () => Promise<string> };
  return Buffer.from(await bundleWebPage());
}
