/**
 * Every error a request can end in becomes `{ error: { code, message } }` with its HTTP
 * status, here and only here (as src/cli/handle-error.ts turns them into exit codes). Bad
 * input is a 4xx, Redis trouble a 503 with Retry-After, anything else a 500 that says
 * nothing about the inside; never a stack trace.
 * @module
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  BadDataError,
  CursorNotFoundError,
  isUnconfirmed,
  MessageIdConflictError,
  MessengerError,
  RedisCommandError,
  UserNotFoundError,
  UsernameNotFoundError,
  UsernameTakenError,
  ValidationError,
} from '../index.js';

/** An error a route throws on purpose, with its status and stable code. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait before trying again (429, 503). */
    readonly retryAfter?: number,
    /** The wait in milliseconds, for a 429's body (`retry_after_ms`, as Matrix has it). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** A 429: too many requests, and how long to wait before the next. */
  static rateLimited(waitMs: number, message: string): HttpError {
    const ms = Math.max(1, Math.ceil(waitMs));
    return new HttpError(429, 'rate_limited', message, Math.ceil(ms / 1000), ms);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; retry_after_ms?: number };
}

/** The status, code and message for any error. */
export function describeError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof CursorNotFoundError)
    return new HttpError(400, 'cursor_not_found', error.message);
  if (error instanceof ValidationError) return new HttpError(400, 'invalid', error.message);
  if (error instanceof UserNotFoundError || error instanceof UsernameNotFoundError)
    return new HttpError(404, 'user_not_found', 'no such user');
  if (error instanceof UsernameTakenError)
    return new HttpError(409, 'username_taken', error.message);
  if (error instanceof MessageIdConflictError)
    return new HttpError(409, 'message_id_conflict', error.message);
  if (isUnconfirmed(error) || error instanceof RedisCommandError)
    return new HttpError(503, 'unavailable', 'the messenger cannot reach its store; try again', 1);
  // Bad data in Redis is the operator's to see in the log, not the client's: its message
  // names keys and holds what was stored.
  if (error instanceof BadDataError)
    return new HttpError(500, 'internal', 'something went wrong on the server');
  if (error instanceof MessengerError) return new HttpError(400, 'invalid', error.message);
  const fastify = error as Partial<FastifyError>;
  // The router's own refusals (Fastify's frameworkErrors): their messages quote the path.
  if (fastify.code === 'FST_ERR_MAX_PARAM_LENGTH')
    return new HttpError(414, 'uri_too_long', 'a part of the URL path is too long');
  if (fastify.code === 'FST_ERR_BAD_URL')
    return new HttpError(400, 'bad_request', 'the URL path is not valid');
  if (fastify.validation)
    return new HttpError(400, 'invalid', fastify.message ?? 'invalid request');
  if (
    typeof fastify.statusCode === 'number' &&
    fastify.statusCode >= 400 &&
    fastify.statusCode < 500
  ) {
    const code =
      fastify.statusCode === 413
        ? 'too_large'
        : fastify.statusCode === 415
          ? 'unsupported_media_type'
          : 'bad_request';
    return new HttpError(fastify.statusCode, code, fastify.message ?? 'bad request');
  }
  return new HttpError(500, 'internal', 'something went wrong on the server');
}

/** Fastify's error handler: one shape for every error, the unexpected ones logged. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const described = describeError(error);
  if (described.status >= 500 && described.code === 'internal') {
    // Logged with its name and message (BadDataError says which key), never shown.
    request.log.error({ err: error }, 'request failed');
  }
  if (described.retryAfter !== undefined) reply.header('retry-after', String(described.retryAfter));
  const body: ErrorBody = { error: { code: described.code, message: described.message } };
  if (described.retryAfterMs !== undefined) body.error.retry_after_ms = described.retryAfterMs;
  void reply.status(described.status).send(body);
}

/**
 * Node's HTTP parser refused a request (a malformed line, headers past 16 KiB, a timeout):
 * answered in the one shape too, with `Connection: close`, since the socket is then closed
 * (Fastify's default answers in a shape of its own and without it, so a keep-alive client
 * sends its next request into a closing socket).
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'timeout', 'the request took too long to arrive']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'the request headers are too large']
        : [400, 'bad_request', 'the request is not valid HTTP'];
  // A body only when the request is known not to be a HEAD (whose client would read one as
  // the start of the next answer): the bytes refused may also be what followed another request.
  const raw = (error as { rawPacket?: Buffer }).rawPacket?.toString('latin1', 0, 12) ?? '';
  const body =
    /^[A-Z]+ /.test(raw) && !raw.startsWith('HEAD ')
      ? JSON.stringify({ error: { code, message } })
      : '';
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
