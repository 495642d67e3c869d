/**
 * The build the server bench runs (`dist/`, as an installed package runs it), and a
 * check that it is not older than the sources: a bench of a stale build would measure
 * code that is no longer there.
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time of the files under `dir`, in ms (0 when there are none). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      latest = Math.max(latest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return latest;
}

/** Why dist/ cannot be benched now (missing, or older than src/), or null when it can. */
export function staleBuild(): string | null {
  let built: number;
  try {
    built = statSync(join(root, 'dist', 'cli', 'bin.js')).mtimeMs;
  } catch {
    return 'dist/ is missing: run `npm run build` first (`npm run bench:server` does)';
  }
  if (newest(join(root, 'src')) > built)
    return 'dist/ is older than src/: run `npm run build` first (`npm run bench:server` does)';
  return null;
}
