/**
 * Sending and reading messages as the signed-in user: `PUT messages/:id` (idempotent: the
 * client chooses the id), `POST messages`, `GET inbox`, `POST messages/seen`, `GET unread`.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { RateLimitedError } from '../../index.js';
import { callerOf } from '../auth/guard.js';
import { RatePolicy } from '../auth/rate-limits.js';
import { type ServerContext, USER_ID } from '../context.js';
import { HttpError } from '../errors.js';
import {
  ErrorShape,
  MessagePageShape,
  MessageShape,
  messageJson,
  PagingQuery,
} from '../schemas.js';

const Outgoing = Type.Object({
  /** A username or a user id. */
  to: Type.String({ minLength: 1, maxLength: 64 }),
  text: Type.String({ minLength: 1, maxLength: 16_384 }),
});
const Sent = Type.Object({ message: MessageShape });

export function messageRoutes({ app, messenger, findUser, rates }: ServerContext): void {
  const send = async (senderId: string, to: string, text: string, messageId: string) => {
    // A user id needs no lookup first: the send refuses an unknown receiver itself (a 404
    // all the same), and a lookup would be a Redis round trip more on every send. The
    // user's send bucket is charged before anything reads Redis: a name's lookup comes
    // after the bucket's own step; with an id the send takes the token itself.
    const byId = USER_ID.test(to);
    if (!byId) await rates?.send(senderId);
    const receiverId = byId ? to.toLowerCase() : (await findUser(to)).id;
    if (receiverId === senderId)
      throw new HttpError(400, 'invalid', 'you cannot send a message to yourself');
    const limit = byId && rates ? { limit: rates.sendLimit } : {};
    try {
      return await messenger.send(senderId, receiverId, text, { messageId, ...limit });
    } catch (error) {
      if (error instanceof RateLimitedError) RatePolicy.sendRefused(error);
      throw error;
    }
  };

  app.put(
    '/messages/:id',
    {
      config: { sends: true },
      schema: {
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        body: Outgoing,
        response: { 200: Sent, 201: Sent, '4xx': ErrorShape },
      },
    },
    async (request, reply) => {
      const { user } = callerOf(request);
      const { to, text } = request.body;
      const sent = await send(user.id, to, text, request.params.id.toLowerCase());
      return reply.status(sent.replayed ? 200 : 201).send({ message: messageJson(sent.message) });
    },
  );

  app.post(
    '/messages',
    {
      config: { sends: true },
      schema: { body: Outgoing, response: { 201: Sent, '4xx': ErrorShape } },
    },
    async (request, reply) => {
      const { user } = callerOf(request);
      const sent = await send(user.id, request.body.to, request.body.text, randomUUID());
      return reply.status(201).send({ message: messageJson(sent.message) });
    },
  );

  app.get(
    '/inbox',
    { schema: { querystring: PagingQuery, response: { 200: MessagePageShape } } },
    async (request) => {
      const { user } = callerOf(request);
      const page = await messenger.listUserMessages(user.id, request.query);
      return { ...page, messages: page.messages.map(messageJson) };
    },
  );

  app.post(
    '/messages/seen',
    {
      schema: {
        body: Type.Object({ ids: Type.Array(Type.String({ format: 'uuid' }), { maxItems: 100 }) }),
        response: { 200: Type.Object({ marked: Type.Integer() }) },
      },
    },
    async (request) => {
      const { user } = callerOf(request);
      return { marked: await messenger.markSeen(user.id, request.body.ids) };
    },
  );

  app.get(
    '/unread',
    {
      schema: {
        response: {
          200: Type.Object({
            total: Type.Integer(),
            bySender: Type.Record(Type.String(), Type.Integer()),
          }),
        },
      },
    },
    async (request) => messenger.unreadCount(callerOf(request).user.id),
  );
}
