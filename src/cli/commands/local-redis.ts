/**
 * `messenger local-redis status|stop`: the redis-server the CLI starts for itself when
 * no Redis is configured and none runs on 127.0.0.1:6379.
 * @module
 */
import type { Command } from 'commander';
import { localServerStatus, stopLocalServer } from '../../index.js';
import { refuseServer } from '../connect-server.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../present.js';

export function registerLocalRedis(program: Command, { output, globals }: CommandContext): void {
  const localRedis = program
    .command('local-redis')
    .description('the local redis-server the CLI starts when no Redis is configured')
    .addHelpText(
      'after',
      '\nExamples:\n  $ messenger local-redis status\n  $ messenger local-redis stop',
    );
  localRedis
    .command('status')
    .description('say whether the local server runs, and where its data is')
    .option('--json', 'print the status as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger local-redis status --json')
    .action(async (options: { json?: boolean }) => {
      refuseServer(globals());
      const status = await localServerStatus();
      if (options.json) {
        printJson(output, status);
        return;
      }
      output.line(status.running ? `running (pid ${status.pid}) at ${status.url}` : 'not running');
      output.line(`data: ${status.dataDir}`);
    });
  localRedis
    .command('stop')
    .description('stop the local server (its data stays)')
    .addHelpText('after', '\nExample:\n  $ messenger local-redis stop')
    .action(async () => {
      refuseServer(globals());
      output.line((await stopLocalServer()) ? 'stopped' : 'it was not running');
    });
}
