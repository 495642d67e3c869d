// The web page's build (docs/web.md): src/web/main.ts and the client module it imports,
// bundled by esbuild into one minified ES module, beside the page's HTML, CSS and icon.
// `npm run build` writes them to dist/web/; the server, run from its sources (`npm start`),
// calls bundleWebPage() itself on the first request for the script.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const SOURCE = new URL('../src/web/', import.meta.url);
/** The page's files served as they are. */
export const STATIC_FILES = ['index.html', 'style.css', 'icon.svg'];

/** The page's script: one ES module, no network at build time, nothing loaded at run time. */
export async function bundleWebPage() {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('main.ts', SOURCE))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const [script] = result.outputFiles;
  if (!script) throw new Error('esbuild wrote no script');
  return script.text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = new URL('../dist/web/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('app.js', out), await bundleWebPage());
  for (const name of STATIC_FILES) copyFileSync(new URL(name, SOURCE), new URL(name, out));
}
