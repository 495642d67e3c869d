/**
 * The live channel, `GET /api/v1/live` (WebSocket, JSON text frames). The client says
 * where it is, the server replays what it missed from the inbox and then pushes as it
 * happens; the cursor lives in Redis, so any instance resumes any client.
 *
 * Client → server: `{type: "hello", after: <cursor> | null}` (or `{type: "hello",
 * fromFirst: true}`) first (within 10 s), then `{type: "ping"}` whenever it likes
 * (answered `{type: "pong"}`).
 * Server → client: `{type: "message", message, cursor}` for a message received (pass the
 * last cursor as `after` to resume); `{type: "message", message}` for one the user sent
 * from any device; `{type: "seen", messageIds | with, marked}`; `{type: "ready", cursor}`
 * once the replay is done, with where the socket stands (null: nothing precedes what
 * comes next, so resume with fromFirst); `{type: "reset"}` when `after` is unknown (reload
 * over HTTP, then go on from the newest); `{type: "paused"}` when the server lost Redis
 * (the socket stays open; new messages wait) and `{type: "resumed"}` once it is back and
 * what came meanwhile has been sent; `{type: "ping"}` after 25 s of quiet.
 * Close codes: 4001 the session ended (log in again), 4002 a frame broke the protocol,
 * 4008 too many frames (wait, then reconnect), 4009 the client stopped reading (reconnect
 * and resume by cursor), 1011 Redis cannot be reached as the socket starts (reconnect
 * later), 1001 the server is going away (reconnect with jitter).
 * @module
 */
import type { WebSocket } from 'ws';
import {
  CursorNotFoundError,
  type InboxSubscription,
  type Message,
  ValidationError,
} from '../index.js';
import { callerOf } from './auth/guard.js';
import type { ServerContext } from './context.js';
import { messageJson } from './schemas.js';

export const CLOSE = {
  goingAway: 1001,
  sessionEnded: 4001,
  protocol: 4002,
  rateLimited: 4008,
  slowConsumer: 4009,
} as const;

/** Past this much unsent data the client is not reading: close it rather than hold it. */
const MAX_BUFFERED = 1024 * 1024;
/** Inbound frames allowed per socket per minute (OWASP's starting point). */
const FRAMES_PER_MINUTE = 100;
const HELLO_WITHIN_MS = 10_000;
/** Protocol pings (and an application ping for browsers, which cannot see those) this often. */
const PING_EVERY_MS = 25_000;
/** The session is checked again this often (it may have expired). */
const RECHECK_EVERY_MS = 60_000;
/** Sockets one user may hold on one server: each is a subscription, timers and reads. */
export const SOCKETS_PER_USER = 5;

/** The sockets open now, so that a shutdown can close them with 1001. */
export type OpenSockets = Set<WebSocket>;

export function liveRoute(
  { app, messenger, settings, metrics }: ServerContext,
  open: OpenSockets,
): void {
  /** The sockets each user holds here, to keep them to SOCKETS_PER_USER. */
  const byUser = new Map<string, Set<WebSocket>>();
  app.get('/live', { websocket: true, config: { live: true } }, (socket: WebSocket, request) => {
    const { user, session } = callerOf(request);
    const mine = byUser.get(user.id) ?? new Set<WebSocket>();
    if (mine.size >= SOCKETS_PER_USER) {
      metrics?.refused('live');
      socket.close(
        CLOSE.rateLimited,
        `at most ${SOCKETS_PER_USER} live connections per user: close one, then reconnect`,
      );
      return;
    }
    mine.add(socket);
    byUser.set(user.id, mine);
    open.add(socket);
    let subscription: InboxSubscription | undefined;
    /** Aborted when the socket closes: stops a replay still under way. */
    const gone = new AbortController();
    let started = false;
    let closed = false;
    let frames = 0;
    let quietSince = Date.now();
    let alive = true;

    const close = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      // Nothing more goes out, so stop reading the inbox now: the 'close' event waits for
      // the peer's half of the handshake, up to 30 s from a peer that stopped reading, and
      // meanwhile every message would still be read from Redis and thrown away.
      gone.abort();
      void subscription?.close();
      if (code === CLOSE.rateLimited) metrics?.refused('live');
      socket.close(code, reason);
    };
    const send = (frame: { type: string; [field: string]: unknown }) => {
      if (closed || socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED) {
        // What it held: the bound and at most the one frame that went past it.
        request.log.warn(
          { bufferedBytes: socket.bufferedAmount, boundBytes: MAX_BUFFERED },
          'live socket not reading: closed with 4009',
        );
        close(CLOSE.slowConsumer, 'not reading: reconnect and resume');
        return;
      }
      quietSince = Date.now();
      socket.send(JSON.stringify(frame));
      if (frame.type === 'message') metrics?.delivered();
    };

    const helloLate = setTimeout(() => close(CLOSE.protocol, 'say hello first'), HELLO_WITHIN_MS);
    const frameWindow = setInterval(() => {
      frames = 0;
    }, 60_000);
    const pinger = setInterval(() => {
      if (!alive) {
        socket.terminate(); // two pings unanswered: the peer is gone
        return;
      }
      alive = false;
      socket.ping();
      if (Date.now() - quietSince >= PING_EVERY_MS) send({ type: 'ping' });
    }, PING_EVERY_MS);
    const recheck = setInterval(async () => {
      const still = await messenger.accounts
        .session(user.id, session.id, settings.sessionIdleMs)
        .catch(() => session); // Redis trouble is no reason to sign anyone out
      if (!still) close(CLOSE.sessionEnded, 'session ended: log in again');
    }, RECHECK_EVERY_MS);
    socket.on('pong', () => {
      alive = true;
    });

    const start = async (after: string | null, fromFirst: boolean) => {
      const deliver = (message: Message) =>
        send({ type: 'message', message: messageJson(message), cursor: message.id });
      const options = {
        onSent: (message: Message) => send({ type: 'message', message: messageJson(message) }),
        onSeen: (change: object) => send({ type: 'seen', ...change }),
        onSessionEnded: (ended: string) => {
          if (ended === session.id) close(CLOSE.sessionEnded, 'session ended: log in again');
        },
        onError: (error: Error) => request.log.warn({ err: error }, 'live delivery recovered'),
        // Redis lost and back: the socket stays open (nothing for the client to redo), but
        // the person should know that messages wait until `resumed`, which comes once
        // what arrived meanwhile has been sent.
        onConnectionChange: (connected: boolean) =>
          send({ type: connected ? 'resumed' : 'paused' }),
        signal: gone.signal,
      };
      try {
        subscription = await messenger.subscribe(user.id, deliver, {
          ...options,
          ...(after ? { after } : {}),
          fromFirst,
        });
      } catch (error) {
        if (!(error instanceof CursorNotFoundError)) throw error;
        send({ type: 'reset' });
        subscription = await messenger.subscribe(user.id, deliver, options);
      }
      // A session ended before this socket listened for the notice (a logout between the
      // upgrade and the hello) must not go on: look once more, now that it listens.
      const still = await messenger.accounts
        .session(user.id, session.id, settings.sessionIdleMs)
        .catch(() => session);
      if (!still) close(CLOSE.sessionEnded, 'session ended: log in again');
      if (closed) await subscription.close();
      else send({ type: 'ready', cursor: subscription.cursor });
    };

    socket.on('message', (data, isBinary) => {
      if (++frames > FRAMES_PER_MINUTE)
        return close(CLOSE.rateLimited, 'too many frames: wait a minute');
      let frame: { type?: unknown; after?: unknown; fromFirst?: unknown } | null = null;
      try {
        frame = isBinary ? null : JSON.parse(data.toString());
      } catch {
        frame = null;
      }
      if (frame?.type === 'ping') return send({ type: 'pong' });
      const after = frame?.after;
      const fromFirst = frame?.fromFirst ?? false;
      const where =
        fromFirst === true ? after == null : after === null || typeof after === 'string';
      if (frame?.type !== 'hello' || started || typeof fromFirst !== 'boolean' || !where) {
        return close(CLOSE.protocol, 'expected one hello: {"type":"hello","after":null}');
      }
      started = true;
      clearTimeout(helloLate);
      start(typeof after === 'string' ? after : null, fromFirst).catch((error: unknown) => {
        if (closed) return; // gone meanwhile: nothing to tell
        // A cursor that is no message id at all is the client's mistake: retrying it would
        // fail the same way.
        if (error instanceof ValidationError)
          return close(CLOSE.protocol, error.message.slice(0, 120));
        request.log.warn({ err: error }, 'live channel could not start');
        close(1011, 'cannot reach the messenger now: reconnect later');
      });
    });

    socket.on('close', () => {
      closed = true;
      gone.abort();
      open.delete(socket);
      mine.delete(socket);
      if (mine.size === 0 && byUser.get(user.id) === mine) byUser.delete(user.id);
      clearTimeout(helloLate);
      clearInterval(frameWindow);
      clearInterval(pinger);
      clearInterval(recheck);
      void subscription?.close();
    });
    socket.on('error', () => {});
  });
}
