// Run before the tests: without redis-server every test would fail, each in its own way.
import { spawnSync } from 'node:child_process';

const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.error(
    'redis-server is not installed; the tests start their own. Install it: sudo apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS).',
  );
  process.exit(1);
}
