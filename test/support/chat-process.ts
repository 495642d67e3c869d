/**
 * `messenger chat` as a real process on pipes (no terminal: plain lines, no prompt),
 * driven line by line. Every chat started is killed by `killAllChats()` (call it in
 * `after`) should a test fail half-way.
 */
import './config-home.js';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Which Redis a chat uses: a URL (--redis), or cluster nodes (--cluster); or a server it
 * goes through (--server), signed in with a token (MESSENGER_TOKEN) and a config folder of
 * its own (XDG_CONFIG_HOME: never the real one).
 */
export type ChatRedis =
  | string
  | { cluster: string }
  | { server: string; token: string; config: string };

/** The project folder (/work/main): chats run from there, as `npm run messenger` would. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WAIT_MS = 10_000;
/** How long a chat process may take to start. */
export const START_MS = 30_000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes
export const ANSI = /\u001b/;
export const TIME = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';

const running = new Set<Chat>();

/** Kills every chat still running. */
export function killAllChats(): void {
  for (const chat of running) chat.kill();
}

/** One `messenger chat <name>` process with piped standard streams. */
export class Chat {
  readonly child: ChildProcessWithoutNullStreams;
  readonly name: string;
  #stdout = '';
  #stderr = '';
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(name: string, redis: ChatRedis, extra: string[] = []) {
    this.name = name;
    const where =
      typeof redis === 'string'
        ? ['--redis', redis]
        : 'cluster' in redis
          ? ['--cluster', redis.cluster]
          : ['--server', redis.server];
    const environment =
      typeof redis === 'string'
        ? { REDIS_URL: redis }
        : 'cluster' in redis
          ? { REDIS_CLUSTER: redis.cluster }
          : { MESSENGER_TOKEN: redis.token, XDG_CONFIG_HOME: redis.config };
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', 'chat', name, ...where, ...extra],
      { cwd: ROOT, env: { ...process.env, ...environment } },
    );
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.#stdout += chunk;
    });
    this.child.stderr.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    this.child.stdin.on('error', () => {}); // writing to a chat that has exited
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        running.delete(this);
        resolve({ code, signal });
      });
    });
    running.add(this);
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Where the output ends now: pass it as `since` to wait only for what comes next. */
  mark(): number {
    return this.#stdout.length;
  }

  /** Types a line. */
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Ends standard input (Ctrl-D, or the end of a piped script). */
  end(): void {
    this.child.stdin.end();
  }

  #describe(): string {
    return `stdout of "chat ${this.name}":\n${this.#stdout}\n--- stderr:\n${this.#stderr}`;
  }

  /**
   * Waits until stdout (from `since` on) matches, and returns the index just past the
   * match. Fails after `timeoutMs`, or at once if the chat exits first.
   */
  async waitFor(pattern: string | RegExp, since = 0, timeoutMs = WAIT_MS): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.#stdout.slice(since);
      if (typeof pattern === 'string') {
        const at = rest.indexOf(pattern);
        if (at >= 0) return since + at + pattern.length;
      } else {
        const match = pattern.exec(rest);
        if (match) return since + match.index + match[0].length;
      }
      if (this.#exit) {
        assert.fail(
          `chat ${this.name} exited (${this.#exit.code ?? this.#exit.signal}) before printing ${pattern}; ${this.#describe()}`,
        );
      }
      if (Date.now() > deadline) {
        assert.fail(`waited ${timeoutMs} ms for ${pattern}; ${this.#describe()}`);
      }
      await sleep(20);
    }
  }

  /** Sends a line and waits for the output it causes. */
  async command(line: string, expected: string | RegExp): Promise<number> {
    const since = this.mark();
    this.send(line);
    return this.waitFor(expected, since);
  }

  /** The exit code, once the chat has exited (fails after `timeoutMs`). */
  async exitCode(timeoutMs = 5000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`chat ${this.name} did not exit within ${timeoutMs} ms; ${this.#describe()}`),
          ),
        timeoutMs,
      );
    });
    try {
      const { code, signal } = await Promise.race([this.exited, timeout]);
      assert.equal(signal, null, `chat ${this.name} was killed by ${signal}`);
      return code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** How many times `text` appears on stdout. */
  count(text: string): number {
    return this.#stdout.split(text).length - 1;
  }

  kill(): void {
    if (!this.#exit) this.child.kill('SIGKILL');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `read` until it returns `expected` (deep-equal), for at most WAIT_MS. */
export async function eventually<T>(
  read: () => Promise<T>,
  expected: T,
  what: string,
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let actual = await read();
  while (Date.now() < deadline) {
    try {
      assert.deepEqual(actual, expected);
      return;
    } catch {
      await sleep(25);
      actual = await read();
    }
  }
  assert.deepEqual(actual, expected, what);
}

/** Starts chats, and kills whichever still run when `work` ends, however it ends. */
export async function withChats(
  url: ChatRedis,
  names: string[],
  work: (...chats: Chat[]) => Promise<void>,
): Promise<void> {
  const chats = names.map((name) => new Chat(name, url));
  try {
    await work(...chats);
  } finally {
    for (const chat of chats) chat.kill();
    await Promise.all(chats.map((chat) => chat.exited));
  }
}

/** Waits until the chat has started: it handles lines only once it is subscribed. */
export async function ready(chat: Chat): Promise<void> {
  // Starting a process with tsx takes seconds, many on a loaded machine: more than a line.
  await chat.waitFor(`You are ${chat.name}.`, 0, START_MS);
  await chat.command('/users', /Users: .*\n/);
}
