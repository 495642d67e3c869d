/**
 * Every Redis key and channel name the messenger uses, built in one place.
 * docs/schema.md describes each one; nothing else in the code concatenates key names.
 *
 * Without a namespace the names are exactly the original program's, so that both
 * programs can share one Redis. Only validated UUIDs ever become part of a key.
 * @module
 */
import { keyspaceChannel } from '../redis/keyspace-events.js';

/**
 * The member a message has in every sorted set that indexes it on one Redis (the seed's
 * "message_key"); `Keys.messageMember` gives it in either layout.
 */
export function messageMember(messageId: string): string {
  return `message:${messageId}`;
}

/**
 * The message id inside a sorted-set member: `message:<id>` (one Redis, the seed's) or
 * `message:{<receiver>}:<id>` (a cluster).
 */
export function messageIdOfMember(member: string): string {
  if (member.startsWith('message:{')) {
    const close = member.indexOf('}:');
    return close === -1 ? member : member.slice(close + 2);
  }
  return member.startsWith('message:') ? member.slice('message:'.length) : member;
}

/**
 * The member a user has in the name index: the folded name first (what a prefix search
 * compares), then the name as typed and the id, which keep one member per name. NUL
 * separates them: no name we accept holds one, and it sorts before every other byte, so
 * "ann" comes before "anna".
 */
export function nameIndexMember(foldedName: string, username: string, userId: string): string {
  return `${foldedName}\0${username}\0${userId}`;
}

/** The user id at the end of a name index member. */
export function userIdOfNameMember(member: string): string {
  return member.slice(member.lastIndexOf('\0') + 1);
}

/**
 * Two layouts of the same keys. 'standalone' is the original program's, name for name.
 * 'cluster' adds hash tags, so that the keys one step touches together share a hash
 * slot (one Redis Cluster node): a user's keys are tagged with their id, and so are the
 * messages they received and their own copy of each conversation (a send touches two
 * slots: the sender's and the receiver's); the username directory is `{directory}`.
 */
export type KeyLayout = 'standalone' | 'cluster';

export class Keys {
  /** Prepended to every key and channel: '' or '<namespace>:'. */
  readonly prefix: string;
  readonly layout: KeyLayout;

  constructor(namespace?: string, layout: KeyLayout = 'standalone') {
    this.prefix = namespace ? `${namespace}:` : '';
    this.layout = layout;
  }

  /** An id as it goes into a key: in braces (a hash tag) on a cluster. */
  #tag(id: string): string {
    return this.layout === 'cluster' ? `{${id}}` : id;
  }

  /** A key of the username directory: all of them share one slot on a cluster. */
  #directory(name: string): string {
    return this.layout === 'cluster'
      ? `${this.prefix}{directory}:${name}`
      : `${this.prefix}${name}`;
  }

  /** HASH user_id, username, created_at (seed). */
  user(userId: string): string {
    return `${this.prefix}user:${this.#tag(userId)}`;
  }

  /** HASH username -> user_id, the names exactly as typed (seed). */
  get usernames(): string {
    return this.#directory('usernames');
  }

  /** HASH folded username (NFKC + case fold) -> user_id: case-insensitive uniqueness. */
  get foldedUsernames(): string {
    return this.#directory('usernames_folded');
  }

  /** STRING: how many entries of `usernames` the folded hash and the user index account for. */
  get usernamesIndexed(): string {
    return this.#directory('usernames_indexed');
  }

  /** ZSET user_id scored by created_at: the paged list of all users. */
  get userIndex(): string {
    return this.#directory('user_index');
  }

  /**
   * ZSET, every score 0, members `<folded name>\0<name as typed>\0<user id>` (see
   * nameIndexMember): the names in folded order, for prefix search (ZRANGEBYLEX). One
   * member for each entry of `usernames`, so a ZCARD below its HLEN says some are missing.
   */
  get nameIndex(): string {
    return this.#directory('name_index');
  }

  /** SET of contact ids (seed). */
  contacts(userId: string): string {
    return `${this.prefix}user_contacts:${this.#tag(userId)}`;
  }

  /**
   * HASH message_id, sender_id, receiver_id, message, timestamp, seen (seed). On a
   * cluster in the receiver's slot: `message:{<receiver>}:<id>`.
   */
  message(messageId: string, receiverId: string): string {
    return `${this.prefix}${this.messageMember(messageId, receiverId)}`;
  }

  /**
   * The member a message has in every sorted set that indexes it: its hash's name without
   * the namespace, `message:<id>` (the seed's "message_key") or, on a cluster,
   * `message:{<receiver>}:<id>`, so that a conversation, which holds messages of both
   * users, names each one's hash.
   */
  messageMember(messageId: string, receiverId: string): string {
    return this.layout === 'cluster'
      ? `message:{${receiverId}}:${messageId}`
      : messageMember(messageId);
  }

  /** The message hash an index member names. */
  messageOfMember(member: string): string {
    if (this.layout === 'cluster') return `${this.prefix}${member}`;
    // The seed's members are `message:<id>`; anything else is taken as a bare id.
    return `${this.prefix}${messageMember(messageIdOfMember(member))}`;
  }

  /** ZSET of message members a user received, scored by timestamp (seed). */
  inbox(userId: string): string {
    return `${this.prefix}user_messages:${this.#tag(userId)}`;
  }

  /**
   * ZSET of message members between two users, both directions, scored by timestamp: one
   * key for both on one Redis (`conversation:<low>:<high>`); on a cluster each user has
   * their own copy in their slot, `conversation:{<user>}:<other>`, written by the send in
   * that user's step.
   */
  conversation(userId: string, otherId: string): string {
    if (this.layout === 'cluster') return `${this.prefix}conversation:{${userId}}:${otherId}`;
    const [low, high] = userId < otherId ? [userId, otherId] : [otherId, userId];
    return `${this.prefix}conversation:${low}:${high}`;
  }

  /** ZSET of the people a user has exchanged messages with, scored by the latest one. */
  conversations(userId: string): string {
    return `${this.prefix}user_conversations:${this.#tag(userId)}`;
  }

  /** HASH sender_id -> number of unseen messages from that sender. */
  unread(userId: string): string {
    return `${this.prefix}user_unread:${this.#tag(userId)}`;
  }

  /**
   * HASH `password` (an Argon2id PHC string), `password_set_at`: a user's credentials,
   * outside `user:*` because the original program reads every `user:*` hash whole.
   */
  account(userId: string): string {
    return `${this.prefix}account:${this.#tag(userId)}`;
  }

  /**
   * HASH of one signed-in session, named by the SHA-256 (hex) of its token, which is never
   * stored: `created_at`, `last_seen`, `expires_at` (ms), `user_agent`, `csrf`. Expires
   * by itself (idle and absolute timeouts).
   */
  session(userId: string, tokenHash: string): string {
    return `${this.prefix}session:${this.#tag(userId)}:${tokenHash}`;
  }

  /** ZSET of a user's session token hashes, scored by creation time (ms). */
  sessions(userId: string): string {
    return `${this.prefix}user_sessions:${this.#tag(userId)}`;
  }

  /**
   * The state of one rate limit for one user (STRING counter, or HASH of a token bucket
   * or a lockout: src/core/scripts/rate-*.lua say which fields), in the user's slot on a
   * cluster. Expires by itself once it no longer limits anything.
   */
  userRateLimit(rule: string, userId: string): string {
    return `${this.prefix}rate:${rule}:${this.#tag(userId)}`;
  }

  /**
   * The state of one rate limit for a subject that is not a user id (an address, a
   * username, or both), named by the SHA-256 (hex) of the subject: the text itself never
   * becomes part of a key. Each such key sits in its own slot on a cluster.
   */
  rateLimit(rule: string, subjectHash: string): string {
    return `${this.prefix}rate:${rule}:${subjectHash}`;
  }

  /**
   * STRING (cluster only): which cluster layout the keys are in, `2` (this one). Written
   * when the messenger first connects to an empty cluster, and by `messenger migrate`
   * once it has moved a cluster's keys from layout 1 (a message and a conversation in slots
   * of their own); a cluster that holds users but no marker holds layout 1.
   */
  get clusterLayout(): string {
    return this.#directory('layout');
  }

  /** Cluster layout 1's message hash, `message:{<id>}`: read and deleted by `messenger migrate`. */
  layoutOneMessage(messageId: string): string {
    return `${this.prefix}message:{${messageId}}`;
  }

  /** Cluster layout 1's one conversation of two users, `conversation:{<low>:<high>}`: the same. */
  layoutOneConversation(userId: string, otherId: string): string {
    const [low, high] = userId < otherId ? [userId, otherId] : [otherId, userId];
    return `${this.prefix}conversation:{${low}:${high}}`;
  }

  /**
   * ZSET (cluster only) of the messages from `senderId` that `userId` has not seen, scored
   * as in the inbox. On a cluster a mark is several steps in several slots; the counter
   * in `unread` is kept equal to this set's size, in the user's slot, so that a step cut
   * short and retried neither lowers it twice nor leaves it too high.
   */
  unseen(userId: string, senderId: string): string {
    return `${this.prefix}user_unseen:${this.#tag(userId)}:${senderId}`;
  }

  /**
   * STRING `1`, expiring after a minute: written by a send retried with `waitForReplicas`
   * that stored nothing (the message was stored before), so that its WAIT waits for the
   * message's own write (src/redis/replicas.ts says why). `key` is one of this send's
   * keys; the mark shares its hash slot.
   */
  replicationMark(key: string): string {
    return `${key}:replicated`;
  }

  /**
   * Pub/sub channel: rung once for every message stored in the user's inbox. On a
   * cluster it is a sharded channel (SPUBLISH) in the slot of the user's keys.
   */
  inboxChannel(userId: string): string {
    return `${this.prefix}user_messages:${this.#tag(userId)}`;
  }

  /**
   * Pub/sub channel: told of every session that ends (a logout, a revocation, a password
   * reset, the oldest past the cap), so that a server that keeps sessions in memory forgets
   * them at once. One channel for all users: endings are rare.
   */
  endedSessionsChannel(): string {
    return `${this.prefix}sessions_ended`;
  }

  /**
   * Redis's keyspace channel of the user's inbox in database `db`: where Redis, when the
   * operator turned on keyspace notifications, tells of every write to it, whoever wrote.
   */
  inboxWritesChannel(db: number, userId: string): string {
    return keyspaceChannel(db, this.inbox(userId));
  }
}
