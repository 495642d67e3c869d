/**
 * Signing up, in and out, and the sessions of the signed-in user:
 * `POST register`, `POST login`, `POST login/jwt` (when configured), `POST logout`, `GET me`,
 * `GET sessions`, `DELETE sessions/:id`.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { UsernameTakenError, ValidationError } from '../../index.js';
import { callerOf } from '../auth/guard.js';
import { JwtRefusedError } from '../auth/jwt.js';
import { checkPassword, hashPassword, passwordProblem } from '../auth/passwords.js';
import { newCsrfToken, newToken, tokenHash } from '../auth/tokens.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { ErrorShape, SessionShape, sessionJson, UserShape, userJson } from '../schemas.js';

const Credentials = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ maxLength: 1024 }),
});
const SignedIn = Type.Object({ user: UserShape, token: Type.String() });

export function accountRoutes({
  app,
  messenger,
  settings,
  rates,
  jwt,
  setSessionCookie,
  clearSessionCookie,
}: ServerContext): void {
  /** Names (folded) with a login under way on this instance. */
  const loginsUnderWay = new Set<string>();
  /** Opens a session for the user; the token goes in the reply and in the cookie. */
  const signIn = async (userId: string, userAgent: string | undefined) => {
    const token = newToken(userId);
    await messenger.accounts.openSession(userId, tokenHash(token), {
      userAgent: userAgent ?? '',
      csrf: newCsrfToken(),
      idleMs: settings.sessionIdleMs,
      absoluteMs: settings.sessionAbsoluteMs,
    });
    return token;
  };

  app.post(
    '/register',
    {
      config: { public: true },
      schema: { body: Credentials, response: { 201: SignedIn, '4xx': ErrorShape } },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      await rates?.register(request.ip);
      const problem = passwordProblem(password);
      if (problem) throw new HttpError(400, 'weak_password', problem);
      const hash = await hashPassword(password);
      let user: Awaited<ReturnType<typeof messenger.addUser>>;
      try {
        user = await messenger.addUser(username);
      } catch (error) {
        if (error instanceof UsernameTakenError)
          throw new HttpError(409, 'username_taken', 'that username is taken');
        throw error;
      }
      await messenger.accounts.setPasswordHash(user.id, hash);
      const token = await signIn(user.id, request.headers['user-agent']);
      setSessionCookie(reply, token);
      return reply.status(201).send({ user: userJson(user), token });
    },
  );

  app.post(
    '/login',
    {
      config: { public: true },
      schema: { body: Credentials, response: { 200: SignedIn, '4xx': ErrorShape } },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const wrong = new HttpError(401, 'wrong_credentials', 'wrong username or password');
      // Failures are counted once a password has been checked: guesses sent all at once
      // would each pass the lockout check before any of them counted. One at a time per
      // name (on this instance) makes every guess wait for the count of the one before.
      const name = username.normalize('NFKC').toLowerCase();
      if (rates && loginsUnderWay.has(name))
        throw HttpError.rateLimited(
          1000,
          'a login for this name is under way: try again in a moment',
        );
      loginsUnderWay.add(name);
      try {
        return await signInWithPassword(request, reply, username, password, wrong);
      } finally {
        loginsUnderWay.delete(name);
      }
    },
  );

  /** Checks a name and password and signs in: one at a time per name (above). */
  async function signInWithPassword(
    request: FastifyRequest,
    reply: FastifyReply,
    username: string,
    password: string,
    wrong: HttpError,
  ) {
    await rates?.beforeLogin(username, request.ip);
    let user = null;
    try {
      user = await messenger.findUserByUsername(username);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
    }
    const stored = user ? await messenger.accounts.passwordHash(user.id) : null;
    // Unknown name, no password yet, or a wrong one: the same answer after the same work.
    const { matches, rehash } = await checkPassword(stored, password);
    if (!user || !matches) {
      await rates?.loginFailed(username, request.ip);
      throw wrong;
    }
    await rates?.loginSucceeded(username, request.ip);
    if (rehash) await messenger.accounts.setPasswordHash(user.id, await hashPassword(password));
    const token = await signIn(user.id, request.headers['user-agent']);
    setSessionCookie(reply, token);
    return { user: userJson(user), token };
  }

  if (jwt)
    app.post(
      '/login/jwt',
      {
        config: { public: true },
        schema: {
          description:
            'Trades a JWT signed by the app that owns the users (its `sub` is the username) for a session. Only when the server is configured for it (docs/server.md).',
          body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }),
          response: { 200: SignedIn, '4xx': ErrorShape },
        },
      },
      async (request, reply) => {
        const refused = (why: string) => new HttpError(401, 'token_refused', why);
        let username: string;
        try {
          username = await jwt.usernameOf(request.body.token);
        } catch (error) {
          if (error instanceof JwtRefusedError) throw refused(error.message);
          throw error;
        }
        let user: Awaited<ReturnType<typeof messenger.findUserByUsername>>;
        try {
          user = await messenger.findUserByUsername(username);
          if (!user && jwt.createsUsers) user = await addOrFind(username);
        } catch (error) {
          if (error instanceof ValidationError)
            throw refused(`the token's sub is no username here: ${error.message}`);
          throw error;
        }
        if (!user)
          throw refused(
            `no user is named ${JSON.stringify(username)} here, and this server creates none from tokens`,
          );
        const token = await signIn(user.id, request.headers['user-agent']);
        setSessionCookie(reply, token);
        return { user: userJson(user), token };
      },
    );

  /** The user named, created now (with no password) or by a sign-in of the same moment. */
  async function addOrFind(username: string) {
    try {
      return await messenger.addUser(username);
    } catch (error) {
      if (!(error instanceof UsernameTakenError)) throw error;
      return await messenger.findUserByUsername(username);
    }
  }

  app.post(
    '/logout',
    { schema: { response: { 204: Type.Null(), '4xx': ErrorShape } } },
    async (request, reply) => {
      const { user, session } = callerOf(request);
      await messenger.accounts.endSession(user.id, session.id);
      clearSessionCookie(reply);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      schema: {
        response: {
          200: Type.Object({ user: UserShape, csrfToken: Type.String(), session: SessionShape }),
        },
      },
    },
    async (request) => {
      const { user, session } = callerOf(request);
      return {
        user: userJson(user),
        csrfToken: session.csrf,
        session: sessionJson(session, session.id),
      };
    },
  );

  app.get(
    '/sessions',
    { schema: { response: { 200: Type.Object({ sessions: Type.Array(SessionShape) }) } } },
    async (request) => {
      const { user, session } = callerOf(request);
      const sessions = await messenger.accounts.sessions(user.id);
      return { sessions: sessions.map((s) => sessionJson(s, session.id)) };
    },
  );

  app.delete(
    '/sessions/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
        response: { 204: Type.Null(), '4xx': ErrorShape },
      },
    },
    async (request, reply) => {
      const { user, session } = callerOf(request);
      const ended = await messenger.accounts.endSession(user.id, request.params.id);
      if (!ended) throw new HttpError(404, 'session_not_found', 'no such session');
      if (request.params.id === session.id) clearSessionCookie(reply);
      return reply.status(204).send(null);
    },
  );
}
