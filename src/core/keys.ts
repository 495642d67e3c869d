/**
 * Every Redis key and channel name the messenger uses, built in one place.
 * docs/schema.md describes each one; nothing else in the code concatenates key names.
 *
 * Without a namespace the names are exactly the original program's, so that both
 * programs can share one Redis. Only validated UUIDs ever become part of a key.
 * @module
 */

/** The member a message has in every sorted set that indexes it (the seed's "message_key"). */
export function messageMember(messageId: string): string {
  return `message:${messageId}`;
}

/** The message id inside a sorted-set member written by `messageMember`. */
export function messageIdOfMember(member: string): string {
  return member.startsWith('message:') ? member.slice('message:'.length) : member;
}

export class Keys {
  /** Prepended to every key and channel: '' or '<namespace>:'. */
  readonly prefix: string;

  constructor(namespace?: string) {
    this.prefix = namespace ? `${namespace}:` : '';
  }

  /** HASH user_id, username, created_at (seed). */
  user(userId: string): string {
    return `${this.userKeyPrefix}${userId}`;
  }

  /** HASH username -> user_id, the names exactly as typed (seed). */
  get usernames(): string {
    return `${this.prefix}usernames`;
  }

  /** HASH folded username (NFKC + case fold) -> user_id: case-insensitive uniqueness. */
  get foldedUsernames(): string {
    return `${this.prefix}usernames_folded`;
  }

  /** STRING: how many entries of `usernames` the folded hash and the user index account for. */
  get usernamesIndexed(): string {
    return `${this.prefix}usernames_indexed`;
  }

  /** ZSET user_id scored by created_at: the paged list of all users. */
  get userIndex(): string {
    return `${this.prefix}user_index`;
  }

  /** SET of contact ids (seed). */
  contacts(userId: string): string {
    return `${this.prefix}user_contacts:${userId}`;
  }

  /** HASH message_id, sender_id, receiver_id, message, timestamp, seen (seed). */
  message(messageId: string): string {
    return `${this.messageKeyPrefix}${messageMember(messageId)}`;
  }

  /** What, put before an index member, names the message hash (members are `message:<id>`). */
  get messageKeyPrefix(): string {
    return this.prefix;
  }

  /** What, put before a user id, names the user hash. */
  get userKeyPrefix(): string {
    return `${this.prefix}user:`;
  }

  /** ZSET of message members a user received, scored by timestamp (seed). */
  inbox(userId: string): string {
    return `${this.prefix}user_messages:${userId}`;
  }

  /** ZSET of message members between two users, both directions, scored by timestamp. */
  conversation(userId: string, otherId: string): string {
    const [low, high] = userId < otherId ? [userId, otherId] : [otherId, userId];
    return `${this.prefix}conversation:${low}:${high}`;
  }

  /** ZSET of the people a user has exchanged messages with, scored by the latest one. */
  conversations(userId: string): string {
    return `${this.prefix}user_conversations:${userId}`;
  }

  /** HASH sender_id -> number of unseen messages from that sender. */
  unread(userId: string): string {
    return `${this.prefix}user_unread:${userId}`;
  }

  /** Pub/sub channel: rung once for every message stored in the user's inbox. */
  inboxChannel(userId: string): string {
    return `${this.prefix}user_messages:${userId}`;
  }
}
