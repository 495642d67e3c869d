/**
 * The person's commands over a server: RedisMessenger's methods (see messenger.ts) on a
 * MessengerClient, which acts as the signed-in user only. Where a method names the user
 * it acts for (the reader of an inbox, the sender of a message), that must be the
 * signed-in user: naming anyone else is a usage error, said before anything is sent.
 * @module
 */
import type { MessengerClient } from '../client/index.js';
import type {
  ConversationSummary,
  Message,
  MessagePage,
  Paging,
  UnreadCount,
  User,
  UserPage,
} from '../index.js';
import { UsageError } from './handle-error.js';
import type { Live, LiveOptions, Messenger } from './messenger.js';
import { printable } from './output.js';

/** The largest page the API gives. */
const API_PAGE_LIMIT = 100;

export class ServerMessenger implements Messenger {
  readonly #client: MessengerClient;
  readonly #me: User;

  constructor(client: MessengerClient, me: User) {
    this.#client = client;
    this.#me = me;
  }

  /** The signed-in user. */
  get me(): User {
    return this.#me;
  }

  /** Throws the usage error unless `userId` is the signed-in user's. */
  actAs(userId: string): void {
    if (userId === this.#me.id) return;
    throw new UsageError(
      `you are logged in to ${this.#client.server} as ${printable(this.#me.username)}: over a server, commands read and send as ${printable(this.#me.username)} only (name ${printable(this.#me.username)}, or log in as someone else)`,
    );
  }

  getUser(userId: string): Promise<User | null> {
    return this.#client.getUser(userId);
  }

  findUserByUsername(username: string): Promise<User | null> {
    return this.#client.findUserByUsername(username);
  }

  /** As on Redis, up to 1000 at a time: API pages of 100, one after another. */
  async listAllUsers(paging: { limit?: number; after?: string } = {}): Promise<UserPage> {
    const limit = paging.limit ?? 50;
    const users: User[] = [];
    let after = paging.after;
    for (;;) {
      const part = Math.min(API_PAGE_LIMIT, limit - users.length);
      const page = await this.#client.listAllUsers({ limit: part, ...(after ? { after } : {}) });
      users.push(...page.users);
      after = page.users.at(-1)?.id;
      if (!page.hasMore || users.length >= limit || !after) {
        return { users, hasMore: page.hasMore };
      }
    }
  }

  searchUsers(prefix: string, options: { limit?: number } = {}): Promise<UserPage> {
    return this.#client.searchUsers(prefix, options);
  }

  async sendMessage(
    senderId: string,
    receiverId: string,
    text: string,
    options: { messageId?: string } = {},
  ): Promise<string> {
    this.actAs(senderId);
    return this.#client.sendMessage(receiverId, text, options);
  }

  async listUserMessages(userId: string, paging?: Paging): Promise<MessagePage> {
    this.actAs(userId);
    return longPage((part) => this.#client.listUserMessages(part), paging);
  }

  async listConversation(userId: string, otherId: string, paging?: Paging): Promise<MessagePage> {
    this.actAs(userId);
    return longPage((part) => this.#client.listConversation(otherId, part), paging);
  }

  async listConversations(
    userId: string,
    options?: { limit?: number },
  ): Promise<ConversationSummary[]> {
    this.actAs(userId);
    return this.#client.listConversations(options);
  }

  /**
   * The newest unseen messages, oldest first: the API has no such listing, so the inbox is
   * read backwards a page at a time until that many are found (as the library does).
   */
  async listUnreadMessages(userId: string, options: { limit?: number } = {}): Promise<Message[]> {
    this.actAs(userId);
    const wanted = Math.min(options.limit ?? 20, (await this.#client.unreadCount()).total);
    const unread: Message[] = [];
    let page: MessagePage | undefined;
    while (unread.length < wanted && (page === undefined || page.hasOlder)) {
      const before = page?.messages[0]?.id;
      if (page && !before) break;
      page = await this.#client.listUserMessages(
        before ? { limit: API_PAGE_LIMIT, before } : { limit: API_PAGE_LIMIT },
      );
      unread.unshift(...page.messages.filter((m) => !m.seen).slice(-(wanted - unread.length)));
    }
    return unread;
  }

  async markSeen(userId: string, messageIds: string[]): Promise<number> {
    this.actAs(userId);
    return this.#client.markSeen(messageIds);
  }

  async markConversationSeen(userId: string, otherId: string): Promise<number> {
    this.actAs(userId);
    return this.#client.markConversationSeen(otherId);
  }

  async unreadCount(userId: string): Promise<UnreadCount> {
    this.actAs(userId);
    return this.#client.unreadCount();
  }

  async addContact(userId: string, contactId: string): Promise<boolean> {
    this.actAs(userId);
    return this.#client.addContact(contactId);
  }

  async removeContact(userId: string, contactId: string): Promise<boolean> {
    this.actAs(userId);
    return this.#client.removeContact(contactId);
  }

  async listContacts(userId: string): Promise<User[]> {
    this.actAs(userId);
    return this.#client.listContacts();
  }

  async subscribe(
    userId: string,
    handler: (message: Message) => void | Promise<void>,
    options: LiveOptions = {},
  ): Promise<Live> {
    this.actAs(userId);
    const { after, onConnectionChange, onSent, onSeen, onReset, onError, onEnded } = options;
    const live = await this.#client.subscribe(handler, {
      ...(after !== undefined ? { after } : {}),
      ...(onConnectionChange ? { onConnectionChange } : {}),
      ...(onSent ? { onSent } : {}),
      ...(onSeen ? { onSeen } : {}),
      ...(onReset ? { onReset } : {}),
      ...(onError ? { onError } : {}),
    });
    void live.ended.then((why) => {
      if (why) onEnded?.(why);
    });
    return live;
  }
}

/**
 * A page of up to the library's limit (1000) from API pages of at most 100: read on from
 * the first in the page's direction (older without a cursor or with `before`, newer with
 * `after`), so that the commands page as they do on Redis.
 */
async function longPage(
  read: (paging: Paging) => Promise<MessagePage>,
  paging: Paging = {},
): Promise<MessagePage> {
  const limit = paging.limit ?? 20;
  if (limit <= API_PAGE_LIMIT) return read(paging);
  const forward = paging.after !== undefined;
  const page = await read({ ...paging, limit: API_PAGE_LIMIT });
  const messages = [...page.messages];
  let { hasOlder, hasNewer } = page;
  while (messages.length < limit && (forward ? hasNewer : hasOlder)) {
    const cursor = forward ? messages.at(-1)?.id : messages[0]?.id;
    if (!cursor) break;
    const part = Math.min(API_PAGE_LIMIT, limit - messages.length);
    const next = await read(
      forward ? { limit: part, after: cursor } : { limit: part, before: cursor },
    );
    if (next.messages.length === 0) break;
    if (forward) {
      messages.push(...next.messages);
      hasNewer = next.hasNewer;
    } else {
      messages.unshift(...next.messages);
      hasOlder = next.hasOlder;
    }
  }
  return { messages, hasOlder, hasNewer };
}
