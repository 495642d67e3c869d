/**
 * The user directory and the signed-in user's contacts: `GET users` (the listing, or a
 * search by the start of a name), `GET users/:user`, `GET contacts`, `PUT contacts/:user`,
 * `DELETE contacts/:user`.
 * @module
 */
import { Type } from 'typebox';
import { USERNAME_MAX_LENGTH } from '../../index.js';
import { callerOf } from '../auth/guard.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { ErrorShape, UserParam, UserShape, userJson } from '../schemas.js';

export function peopleRoutes({ app, messenger, findUser }: ServerContext): void {
  app.get(
    '/users',
    {
      schema: {
        querystring: Type.Object({
          limit: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 100,
              description: 'how many at most (default 50; 20 with prefix)',
            }),
          ),
          after: Type.Optional(
            Type.String({
              format: 'uuid',
              description: 'the listing only: go on after this user id (from an earlier page)',
            }),
          ),
          prefix: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: USERNAME_MAX_LENGTH,
              description:
                'the users whose name starts with this, compared ignoring case (NFKC, case folded), ordered by name',
            }),
          ),
        }),
        response: {
          200: Type.Object({ users: Type.Array(UserShape), hasMore: Type.Boolean() }),
          '4xx': ErrorShape,
        },
      },
    },
    async (request) => {
      const { prefix, after, limit } = request.query;
      if (prefix !== undefined && after !== undefined)
        throw new HttpError(400, 'invalid', 'a search by prefix takes no after: narrow the prefix');
      const page =
        prefix === undefined
          ? await messenger.listAllUsers({ limit, after })
          : await messenger.searchUsers(prefix, { limit });
      return { users: page.users.map(userJson), hasMore: page.hasMore };
    },
  );

  app.get(
    '/users/:user',
    {
      schema: {
        params: UserParam,
        response: { 200: Type.Object({ user: UserShape }), '4xx': ErrorShape },
      },
    },
    async (request) => ({ user: userJson(await findUser(request.params.user)) }),
  );

  app.get(
    '/contacts',
    { schema: { response: { 200: Type.Object({ contacts: Type.Array(UserShape) }) } } },
    async (request) => {
      const contacts = await messenger.listContacts(callerOf(request).user.id);
      return { contacts: contacts.map(userJson) };
    },
  );

  app.put(
    '/contacts/:user',
    {
      schema: {
        params: UserParam,
        response: {
          200: Type.Object({ contact: UserShape }),
          201: Type.Object({ contact: UserShape }),
          '4xx': ErrorShape,
        },
      },
    },
    async (request, reply) => {
      const { user } = callerOf(request);
      const contact = await findUser(request.params.user);
      if (contact.id === user.id)
        throw new HttpError(400, 'invalid', 'you cannot be your own contact');
      const added = await messenger.addContact(user.id, contact.id);
      return reply.status(added ? 201 : 200).send({ contact: userJson(contact) });
    },
  );

  app.delete(
    '/contacts/:user',
    { schema: { params: UserParam, response: { 204: Type.Null(), '4xx': ErrorShape } } },
    async (request, reply) => {
      const { user } = callerOf(request);
      const contact = await findUser(request.params.user);
      if (!(await messenger.removeContact(user.id, contact.id)))
        throw new HttpError(404, 'contact_not_found', `${contact.username} is not a contact`);
      return reply.status(204).send(null);
    },
  );
}
