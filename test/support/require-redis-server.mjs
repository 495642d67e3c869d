// Run before the tests: without redis-server (and redis-cli, which joins test clusters)
// every test would fail, each in its own way.
import { spawnSync } from 'node:child_process';

for (const command of ['redis-server', 'redis-cli']) {
  const probe = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    console.error(
      `error: ${command} is not installed; the tests start their own servers and clusters. Install it: sudo apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS).`,
    );
    process.exit(1);
  }
}
