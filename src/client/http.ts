/**
 * One HTTP call of the API, and the one place where the server's answers become the
 * library's errors (as src/server/errors.ts is the one place where errors become answers).
 * Only `fetch`: it runs in Node 20 and in browsers.
 * @module
 */
import {
  CursorNotFoundError,
  MessageIdConflictError,
  RateLimitedError,
  ServerRefusedError,
  ServerTooOldError,
  ServerUnavailableError,
  ServerUnreachableError,
  SessionEndedError,
  UserNotFoundError,
  UsernameNotFoundError,
  UsernameTakenError,
  ValidationError,
} from '../errors.js';

/** What a failed request was about, so that its error can name it as the library would. */
export interface RequestSubject {
  /** The user named in the path or body (a username or an id). */
  user?: string;
  /** The username being registered. */
  username?: string;
  messageId?: string;
  /** The paging cursor sent (before or after). */
  cursor?: string;
}

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under `/api/v1/`, without a leading slash, query string included. */
  path: string;
  body?: unknown;
  subject?: RequestSubject;
}

export interface Answer<T> {
  status: number;
  body: T;
}

export interface TransportOptions {
  /** The server's address, e.g. `https://chat.example.com`. */
  server: string;
  token?: string;
  /** How long one request may take before it counts as unreachable. */
  requestTimeoutMs: number;
  /** `fetch` to use (tests, or a runtime with its own). */
  fetch: typeof fetch;
}

/**
 * The API version this client needs: the server sends its own in this header on every
 * answer (src/server/app.ts). Checked on every answer, so it costs no extra request.
 */
export const NEEDED_API_VERSION = 1;
const API_VERSION_HEADER = 'x-messenger-api';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The API's base URL (`<server>/api/v1/`), whatever the server URL ends with. */
export function apiBase(server: string): URL {
  const base = new URL(server);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL('api/v1/', base);
}

const UNSAFE = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

export class Transport {
  readonly #base: URL;
  readonly #options: TransportOptions;
  /**
   * With no token the session is the page's cookie, and the server wants the session's
   * CSRF token in a header on every request that changes something: read from `GET me`
   * once, and again if the server says it is wrong (a new session).
   */
  #csrf: Promise<string | undefined> | undefined;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#base = apiBase(options.server);
  }

  get server(): string {
    return this.#options.server;
  }

  get token(): string | undefined {
    return this.#options.token;
  }

  /** The live channel's URL (ws: or wss:). */
  get liveUrl(): string {
    const url = new URL('live', this.#base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.href;
  }

  /** Sends the call once; a 2xx is its answer, anything else the matching error. */
  async request<T>(call: Call): Promise<Answer<T>> {
    if (this.#options.token || !UNSAFE.has(call.method)) return this.#send<T>(call);
    try {
      return await this.#send<T>(call, await this.#csrfToken());
    } catch (error) {
      if (!(error instanceof ServerRefusedError && error.code === 'csrf')) throw error;
      this.#csrf = undefined;
      return this.#send<T>(call, await this.#csrfToken());
    }
  }

  #csrfToken(): Promise<string | undefined> {
    this.#csrf ??= this.#send<{ csrfToken?: string }>({ method: 'GET', path: 'me' }).then(
      (answer) => answer.body?.csrfToken,
      (error: unknown) => {
        this.#csrf = undefined;
        // Not signed in (register, login): no token to send; the call says the rest.
        if (error instanceof SessionEndedError) return undefined;
        throw error;
      },
    );
    return this.#csrf;
  }

  async #send<T>(call: Call, csrf?: string): Promise<Answer<T>> {
    const url = new URL(call.path, this.#base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`;
    if (csrf) headers['x-csrf-token'] = csrf;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#options.fetch(url, {
        method: call.method,
        headers,
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error | undefined)?.name === 'TimeoutError';
      throw new ServerUnreachableError(this.#options.server, {
        cause: error,
        ...(timedOut ? { timeoutMs: this.#options.requestTimeoutMs } : {}),
      });
    }
    const text = await response.text().catch(() => '');
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null; // not the API (a proxy's page): the status alone says what happened
    }
    // A 5xx or a page that is not JSON may be a proxy's own: only the API's answers tell.
    if (response.ok || (response.status < 500 && isApiError(body))) {
      const version = Number(response.headers.get(API_VERSION_HEADER) ?? Number.NaN);
      if (!(version >= NEEDED_API_VERSION)) {
        throw new ServerTooOldError(
          this.#options.server,
          Number.isInteger(version) ? version : null,
          NEEDED_API_VERSION,
        );
      }
    }
    if (response.ok) return { status: response.status, body: body as T };
    throw errorOfAnswer(response.status, body, response.headers.get('retry-after'), call.subject);
  }
}

function isApiError(body: unknown): boolean {
  return typeof (body as { error?: { code?: unknown } } | null)?.error?.code === 'string';
}

/** The library's error for a refusal: `{error: {code, message}}` with its status. */
export function errorOfAnswer(
  status: number,
  body: unknown,
  retryAfter: string | null,
  subject: RequestSubject = {},
): Error {
  const error = (
    body as { error?: { code?: unknown; message?: unknown; retry_after_ms?: unknown } }
  )?.error;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  const said = typeof error?.message === 'string' ? error.message : `the server answered ${status}`;
  const waitMs =
    typeof error?.retry_after_ms === 'number'
      ? error.retry_after_ms
      : retryAfter && Number.isFinite(Number(retryAfter))
        ? Number(retryAfter) * 1000
        : 1000;
  // A refused sign-in is no session that ended: its answer says what was wrong.
  if (status === 401 && code !== 'wrong_credentials' && code !== 'token_refused')
    return new SessionEndedError();
  if (status === 429) return new RateLimitedError(waitMs, said);
  if (status === 503) return new ServerUnavailableError(waitMs);
  if (status === 400 && code === 'cursor_not_found')
    return new CursorNotFoundError(subject.cursor ?? '');
  if (status === 400) return new ValidationError(said);
  if (status === 404 && code === 'user_not_found' && subject.user !== undefined) {
    return UUID.test(subject.user)
      ? new UserNotFoundError(subject.user)
      : new UsernameNotFoundError(subject.user);
  }
  if (status === 409 && code === 'username_taken')
    return new UsernameTakenError(subject.username ?? '');
  if (status === 409 && code === 'message_id_conflict')
    return new MessageIdConflictError(subject.messageId ?? '');
  return new ServerRefusedError(status, code, said);
}
