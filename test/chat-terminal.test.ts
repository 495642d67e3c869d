/**
 * The chat on a real terminal (tmux gives it one): a message that arrives while a long
 * line is being typed appears above that line, and the line, wrapped over several rows,
 * stays exactly as it was typed. CI installs tmux (.ci/run).
 */
import './support/config-home.js';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RedisMessenger } from '../src/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { sleep } from './support/wait.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const session = `chat-test-${randomUUID().slice(0, 8)}`;

let server: RedisServer;

before(async () => {
  server = await startRedisServer();
});
after(async () => {
  spawnSync('tmux', ['kill-session', '-t', session]);
  await server?.stop();
});

function screen(): string {
  return execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
}

async function screenShows(text: string, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const shown = screen();
    if (shown.includes(text)) return shown;
    if (Date.now() > deadline)
      throw new Error(`the screen never showed ${JSON.stringify(text)}:\n${shown}`);
    await sleep(50);
  }
}

it('a message arriving while a wrapped line is typed leaves that line intact', {
  skip: !hasTmux && 'tmux is not installed',
}, async () => {
  const messenger = await RedisMessenger.connect({ url: server.url });
  try {
    const alice = await messenger.createUser('alice');
    const bob = await messenger.createUser('bob');
    const command = `${process.execPath} --import tsx src/cli/bin.ts chat alice --redis ${server.url}`;
    execFileSync('tmux', [
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '60',
      '-y',
      '20',
      '-c',
      ROOT,
      command,
    ]);
    await screenShows('/help lists the commands');
    execFileSync('tmux', ['send-keys', '-t', session, '/to bob', 'Enter']);
    await screenShows('to bob>'); // the conversation is open once the prompt names it
    const typed = 'x'.repeat(100); // wraps over two rows of a 60-column terminal
    execFileSync('tmux', ['send-keys', '-t', session, '-l', typed]);
    await screenShows('x'.repeat(40));
    await messenger.sendMessage(bob, alice, 'arrives while typing');
    const shown = await screenShows('bob: arrives while typing');
    const rows = shown.trimEnd().split('\n');
    const arrived = rows.findIndex((row) => row.includes('bob: arrives while typing'));
    // Below the message: the prompt and the whole typed text, once, and nothing else.
    assert.equal(rows.slice(arrived + 1).join(''), `to bob> ${typed}`);
    assert.equal(
      rows.slice(0, arrived).join('').includes('xxx'),
      false,
      'a stale row of typed text',
    );
    // Enter on an empty line: the prompt is drawn again on the row the cursor is on.
    execFileSync('tmux', ['send-keys', '-t', session, 'C-u', 'Enter']);
    const promptedAgain = Date.now() + 10_000;
    for (;;) {
      const row = Number(
        execFileSync('tmux', ['display-message', '-p', '-t', session, '#{cursor_y}'], {
          encoding: 'utf8',
        }).trim(),
      );
      const rowText = screen().split('\n')[row] ?? '';
      if (rowText.trimEnd() === 'to bob>' && row > arrived + 1) break;
      if (Date.now() > promptedAgain) {
        assert.fail(`no prompt on the cursor's row ${row} after Enter:\n${screen()}`);
      }
      await sleep(50);
    }
    execFileSync('tmux', ['send-keys', '-t', session, '/quit', 'Enter']);
  } finally {
    await messenger.close();
  }
});
