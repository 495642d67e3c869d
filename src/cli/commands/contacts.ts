/**
 * `messenger contacts list|add|remove`.
 * @module
 */
import type { Command } from 'commander';
import { withPersonMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { printable } from '../output.js';
import { resolveUser } from '../people.js';
import { printJson, printTable, userJson, userRows } from '../present.js';

export function registerContacts(program: Command, { output, globals }: CommandContext): void {
  const contacts = program
    .command('contacts')
    .description("a user's contact list")
    .addHelpText(
      'after',
      '\nExamples:\n  $ messenger contacts add alice bob\n  $ messenger contacts list alice',
    );

  contacts
    .command('list <user>')
    .description("list a user's contacts by name")
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger contacts list alice')
    .action((name: string, options: { json?: boolean }) =>
      withPersonMessenger(globals(), output, async (messenger) => {
        const me = await resolveUser(messenger, name);
        const list = await messenger.listContacts(me.id);
        if (options.json) printJson(output, { contacts: list.map(userJson) });
        else if (list.length === 0) output.line('no contacts yet');
        else printTable(output, userRows(list));
      }),
    );

  for (const [verb, description] of [
    ['add', 'add a contact'],
    ['remove', 'remove a contact'],
  ] as const) {
    contacts
      .command(`${verb} <user> <contact>`)
      .description(description)
      .option('--json', 'print as JSON')
      .addHelpText('after', `\nExample:\n  $ messenger contacts ${verb} alice bob`)
      .action((name: string, contactName: string, options: { json?: boolean }) =>
        withPersonMessenger(globals(), output, async (messenger) => {
          const [me, contact] = await Promise.all([
            resolveUser(messenger, name),
            resolveUser(messenger, contactName),
          ]);
          const changed =
            verb === 'add'
              ? await messenger.addContact(me.id, contact.id)
              : await messenger.removeContact(me.id, contact.id);
          if (options.json) {
            printJson(output, { changed });
            return;
          }
          const who = printable(contact.username);
          if (verb === 'add')
            output.line(changed ? `added ${who}` : `${who} already was a contact`);
          else output.line(changed ? `removed ${who}` : `${who} was not a contact`);
        }),
      );
  }
}
