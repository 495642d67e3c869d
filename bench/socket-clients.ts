/**
 * The server bench's WebSocket listeners, in processes of their own (`fork`ed with tsx),
 * so that holding thousands of sockets and parsing their frames does not share an event
 * loop with the senders whose requests are timed, and so that their CPU and memory are
 * counted apart. The parent drives each child over IPC:
 * - `connect`: open the given listeners' sockets, `inFlight` at a time, each saying hello
 *   and waiting for `ready` (progress every `every` sockets);
 * - `drain`: the frames of kind message seen since the last drain: id, when it first
 *   arrived (ms since the epoch, `performance.timeOrigin + performance.now()`, so that
 *   the parent's clock compares) and how many times;
 * - `drop`: every socket terminated at once (replies how many will resume from the first);
 * - `reconnect`: every listener reconnects at once, from its last cursor (or from the
 *   first message, when its inbox was empty at its last ready); one that fails (refused,
 *   or no `ready` within 15 s) tries again after a growing wait, for up to a minute;
 * - `close`: everything closed, then the child exits.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { runConcurrently } from './measure.js';

/** One listener: a signed-in user's token. */
export interface Listener {
  token: string;
}

type Command =
  | { type: 'connect'; url: string; listeners: Listener[]; inFlight: number; every: number }
  | { type: 'drain' }
  | { type: 'drop' }
  | { type: 'reconnect' }
  | { type: 'close' };

type Reply =
  | { type: 'started' }
  | { type: 'progress'; connected: number }
  | { type: 'connected'; held: number; refused: number }
  | { type: 'arrivals'; arrivals: [id: string, at: number, times: number][] }
  | { type: 'dropped'; fromFirst: number }
  | { type: 'reconnected'; reconnected: number; retried: number; failed: number }
  | { type: 'closed' };

const now = () => performance.timeOrigin + performance.now();

/** A socket not ready this long after it opened is given up (and, in the storm, tried again). */
const READY_WITHIN_MS = 15_000;

/** In the storm, a listener that is still not back this long after it began gives up. */
const RECONNECT_GIVE_UP_MS = 60_000;

/** The child's side: runs when this file is forked with `--child`. */
function child(): void {
  const send = (reply: Reply) => process.send?.(reply);
  let url = '';
  let listeners: Listener[] = [];
  let cursors: (string | 'first' | null)[] = [];
  let open: WebSocket[] = [];
  /** Since the last drain: id → [first arrival, times]. */
  let fresh = new Map<string, [number, number]>();
  const arrived = new Set<string>();

  const connectLive = async (i: number, after: string | 'first' | null) => {
    const user = listeners[i] as Listener;
    const socket = new WebSocket(`${url.replace('http', 'ws')}/api/v1/live`, {
      headers: { authorization: `Bearer ${user.token}` },
      // The upgrade itself is bounded too (ws then emits an error).
      handshakeTimeout: 30_000,
    });
    const ready = await new Promise<boolean>((resolve) => {
      // As the client (src/client/live.ts): ready within 15 s of the socket's opening.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hello =
        after === 'first' ? { type: 'hello', fromFirst: true } : { type: 'hello', after };
      socket.once('open', () => {
        socket.send(JSON.stringify(hello));
        timer = setTimeout(() => resolve(false), READY_WITHIN_MS);
      });
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as {
          type: string;
          cursor?: string | null;
          message?: { id: string };
        };
        if (frame.type === 'ready') {
          if (typeof frame.cursor === 'string') cursors[i] = frame.cursor;
          else if (frame.cursor === null && cursors[i] === null) cursors[i] = 'first';
          clearTimeout(timer);
          resolve(true);
        } else if (frame.type === 'message' && frame.message) {
          const id = frame.message.id;
          if (frame.cursor) cursors[i] = frame.cursor;
          const entry = fresh.get(id);
          if (entry) entry[1]++;
          // A repeat after a drain still counts: it arrives with no new first time.
          else fresh.set(id, [arrived.has(id) ? Number.NaN : now(), 1]);
          arrived.add(id);
        }
      });
      socket.once('error', () => resolve(false));
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ready) return socket;
    socket.terminate();
    return null;
  };

  process.on('message', async (command: Command) => {
    if (command.type === 'connect') {
      url = command.url;
      listeners = command.listeners;
      cursors = listeners.map(() => null);
      let refused = 0;
      let done = 0;
      await runConcurrently(listeners.length, command.inFlight, async (i) => {
        const socket = await connectLive(i, null);
        if (socket) open.push(socket);
        else refused++;
        if (++done % command.every === 0) send({ type: 'progress', connected: done });
      });
      const held = open.filter((s) => s.readyState === WebSocket.OPEN).length;
      send({ type: 'connected', held, refused });
    } else if (command.type === 'drain') {
      const arrivals = [...fresh].map(
        ([id, [at, times]]) => [id, at, times] as [string, number, number],
      );
      fresh = new Map();
      send({ type: 'arrivals', arrivals });
    } else if (command.type === 'drop') {
      const closing = open.map(
        (s) => new Promise<void>((resolve) => s.once('close', () => resolve())),
      );
      for (const socket of open) socket.terminate();
      await Promise.all(closing);
      open = [];
      // Every listener can resume: from its cursor, or (an inbox that was empty) from the first.
      send({ type: 'dropped', fromFirst: cursors.filter((c) => c === 'first').length });
    } else if (command.type === 'reconnect') {
      let retried = 0;
      let failed = 0;
      const until = Date.now() + RECONNECT_GIVE_UP_MS;
      // All at once, as after a server restart or a network blip behind a load balancer;
      // one that fails tries again after a growing, jittered wait, as the client does.
      await runConcurrently(listeners.length, listeners.length, async (i) => {
        for (let attempt = 0; ; attempt++) {
          const socket = await connectLive(i, cursors[i] ?? null);
          if (socket) {
            open.push(socket);
            return;
          }
          if (attempt === 0) retried++;
          if (Date.now() > until) {
            failed++;
            return;
          }
          const wait = Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random());
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      });
      send({ type: 'reconnected', reconnected: open.length, retried, failed });
    } else if (command.type === 'close') {
      for (const socket of open) socket.terminate();
      send({ type: 'closed' });
      process.disconnect();
    }
  });
  send({ type: 'started' });
}

/** The parent's handle on one child process of listeners. */
export class SocketClients {
  readonly #child: ChildProcess;
  #waiting: ((reply: Reply) => boolean)[] = [];
  /** Called with each progress report (sockets connected so far by this child). */
  onProgress: (connected: number) => void = () => {};

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (reply: Reply) => {
      if (reply.type === 'progress') this.onProgress(reply.connected);
      else this.#waiting = this.#waiting.filter((accept) => !accept(reply));
    });
  }

  /** Forks a child of listeners (with tsx, as this bench runs); resolves once it listens for commands. */
  static async start(): Promise<SocketClients> {
    const child = fork(new URL(import.meta.url), ['--child'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const clients = new SocketClients(child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', () => reject(new Error('the socket clients exited at start')));
      clients.#waiting.push((reply) => {
        if (reply.type !== 'started') return false;
        resolve();
        return true;
      });
    });
    return clients;
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  #ask<T extends Reply['type']>(command: Command, answer: T): Promise<Extract<Reply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const exited = () => reject(new Error(`the socket clients exited during ${command.type}`));
      this.#child.once('exit', exited);
      this.#waiting.push((reply) => {
        if (reply.type !== answer) return false;
        this.#child.off('exit', exited);
        resolve(reply as Extract<Reply, { type: T }>);
        return true;
      });
      this.#child.send(command);
    });
  }

  connect(url: string, listeners: Listener[], inFlight: number, every: number) {
    return this.#ask({ type: 'connect', url, listeners, inFlight, every }, 'connected');
  }
  async drain(): Promise<[string, number, number][]> {
    return (await this.#ask({ type: 'drain' }, 'arrivals')).arrivals;
  }
  /** Drops every socket; how many listeners will resume from the first message. */
  async drop(): Promise<number> {
    return (await this.#ask({ type: 'drop' }, 'dropped')).fromFirst;
  }
  reconnect() {
    return this.#ask({ type: 'reconnect' }, 'reconnected');
  }
  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exit = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    await this.#ask({ type: 'close' }, 'closed').catch(() => undefined);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(timer);
  }
}

if (process.argv[2] === '--child') child();
