/**
 * `messenger migrate`: moves a Redis Cluster's keys from the first cluster layout to this
 * version's (docs/schema.md, "Moving from layout 1"). Offline, and safe to run again: a
 * run cut short is finished by the next; on a cluster moved already it does nothing.
 * @module
 */
import type { Command } from 'commander';
import { migrateNamedCluster } from '../connect.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../present.js';

export function registerMigrate(program: Command, { output, globals }: CommandContext): void {
  program
    .command('migrate')
    .description(
      "move a Redis Cluster's keys to this version's layout (stop every messenger using it first)",
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Run it once after upgrading from a version whose cluster layout was 1: until then',
        'every messenger refuses the cluster, saying so. Stop every messenger and server that',
        'uses the cluster first; one that connects while it runs is refused. Cut short, run it',
        "again. One Redis keeps the original program's layout and needs no migration.",
        '',
        'Example:',
        '  $ messenger migrate --cluster 10.0.0.1:7000,10.0.0.2:7000',
      ].join('\n'),
    )
    .action(async (options: { json?: boolean }) => {
      const report = await migrateNamedCluster(globals(), ({ pass, done, total }) =>
        output.progress(pass === 1 ? 'Moving messages' : 'Removing the old keys', done, total),
      );
      if (options.json) {
        printJson(output, report);
        return;
      }
      if (report.alreadyDone) {
        output.line('The cluster is in layout 2 already: nothing to move.');
        return;
      }
      output.line(
        `Moved ${report.messages} messages of ${report.users} users and ${report.conversations} conversation copies to layout 2.`,
      );
      if (report.missingHashes > 0) {
        output.line(
          `${report.missingHashes} index entries named no message (left as they were: readers skip them).`,
        );
      }
    });
}
