// Before a build: a module renamed or removed in src/ must not live on in dist/ (and in
// the package) as a stale compiled copy.
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
