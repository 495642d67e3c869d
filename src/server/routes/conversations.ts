/**
 * The signed-in user's conversations: `GET conversations`, `GET conversations/:user/messages`,
 * `POST conversations/:user/seen` (`:user` a username or a user id).
 * @module
 */
import { Type } from 'typebox';
import { callerOf } from '../auth/guard.js';
import type { ServerContext } from '../context.js';
import {
  MessagePageShape,
  MessageShape,
  messageJson,
  PagingQuery,
  UserParam,
  UserShape,
  userJson,
} from '../schemas.js';

export function conversationRoutes({ app, messenger, findUser }: ServerContext): void {
  app.get(
    '/conversations',
    {
      schema: {
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        }),
        response: {
          200: Type.Object({
            conversations: Type.Array(
              Type.Object({
                with: UserShape,
                lastMessage: Type.Union([MessageShape, Type.Null()]),
                unread: Type.Integer(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const { user } = callerOf(request);
      const conversations = await messenger.listConversations(user.id, request.query);
      return {
        conversations: conversations.map((c) => ({
          with: userJson(c.with),
          lastMessage: c.lastMessage ? messageJson(c.lastMessage) : null,
          unread: c.unread,
        })),
      };
    },
  );

  app.get(
    '/conversations/:user/messages',
    {
      schema: { params: UserParam, querystring: PagingQuery, response: { 200: MessagePageShape } },
    },
    async (request) => {
      const { user } = callerOf(request);
      const other = await findUser(request.params.user);
      const page = await messenger.listConversation(user.id, other.id, request.query);
      return { ...page, messages: page.messages.map(messageJson) };
    },
  );

  app.post(
    '/conversations/:user/seen',
    { schema: { params: UserParam, response: { 200: Type.Object({ marked: Type.Integer() }) } } },
    async (request) => {
      const { user } = callerOf(request);
      const other = await findUser(request.params.user);
      return { marked: await messenger.markConversationSeen(user.id, other.id) };
    },
  );
}
