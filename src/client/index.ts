/**
 * redis-messenger/client: the messenger over its server's API, with `fetch` and
 * `WebSocket` only (Node 20 and browsers; no Redis). Its methods mirror RedisMessenger's,
 * with the signed-in user implicit, and return the same values; its errors are the
 * library's (`redis-messenger`'s error classes).
 *
 * @example
 * ```ts
 * import { MessengerClient } from 'redis-messenger/client';
 * import { WebSocket } from 'ws'; // Node 20 has no WebSocket of its own; a browser does
 *
 * const client = await MessengerClient.login('https://chat.example.com', 'alice', password, { WebSocket });
 * await client.sendMessage('bob', 'hello');
 * await client.subscribe((message) => console.log(message.text));
 * ```
 * @module
 */
export {
  RateLimitedError,
  ServerRefusedError,
  ServerTooOldError,
  ServerUnavailableError,
  ServerUnreachableError,
  SessionEndedError,
} from '../errors.js';
export type { LiveOptions, LiveSocket, LiveSubscription, WebSocketConstructor } from './live.js';
export {
  type ClientSendOptions,
  MessengerClient,
  type MessengerClientOptions,
  type SignedIn,
} from './messenger-client.js';
export type { SessionSummary } from './wire.js';
