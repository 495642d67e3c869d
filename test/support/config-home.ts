/**
 * Imported for its effect: points XDG_CONFIG_HOME (where `messenger login` keeps its
 * session) at a fresh temporary folder for this test process and the commands it starts,
 * so that no test reads or writes the real ~/.config.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.XDG_CONFIG_HOME = mkdtempSync(join(tmpdir(), 'messenger-test-config-'));
