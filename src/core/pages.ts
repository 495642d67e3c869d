/**
 * Reading one page of a sorted-set index (an inbox, a conversation, the user list) with
 * the hash each entry names: two round trips, whatever the page size.
 * @module
 */
import { CursorNotFoundError } from '../errors.js';
import type { Backend } from './backend/backend.js';
import { messageIdOfMember } from './keys.js';
import { MESSAGE_FIELDS, messageFromHash } from './records.js';
import { scripts } from './scripts.js';
import type { Message, MessagePage } from './types.js';
import { isId, type PageRequest } from './validate.js';

/** page-1.lua's reply: the two flags, then the members. */
type PageScriptReply = -1 | [number, number, ...string[]];

export interface IndexPage {
  /** Each member of the page with the fields of the hash it names (empty if none). */
  entries: { member: string; hash: Record<string, string> }[];
  hasOlder: boolean;
  hasNewer: boolean;
}

/**
 * The page `request` asks for: located by rank around a cursor in one script call, then
 * the `fields` of the hash `hashKey` names for every member, all at once. `toMembers`
 * turns a cursor (an id) into the members it may have (the first the index holds is it).
 */
export async function readIndexPage(
  backend: Backend,
  index: string,
  request: PageRequest,
  hashKey: (member: string) => string,
  fields: readonly string[],
  toMembers: (cursor: string) => string[] = (cursor) => [cursor],
): Promise<IndexPage> {
  let cursors = [''];
  if (request.mode === 'before' || request.mode === 'after') cursors = toMembers(request.cursor);
  else if (request.mode === 'after-score') cursors = [request.cursor];
  const reply = (await scripts.page.run(
    backend.client,
    [index],
    [request.mode, String(request.limit), ...cursors],
  )) as PageScriptReply;
  if (reply === -1) throw new CursorNotFoundError('cursor' in request ? request.cursor : '');
  const [hasOlder, hasNewer, ...members] = reply;
  // Members name hashes that never change but for `seen`, so reading them after the
  // index is as good as with it.
  const entries = await hashesOf(backend, members, hashKey, fields);
  return { entries, hasOlder: hasOlder === 1, hasNewer: hasNewer === 1 };
}

/** The `fields` of the hash each member names (those it has), all read at once. */
export async function hashesOf(
  backend: Backend,
  members: readonly string[],
  hashKey: (member: string) => string,
  fields: readonly string[],
): Promise<IndexPage['entries']> {
  const values = await Promise.all(
    members.map((member) => backend.readHash(hashKey(member), fields)),
  );
  return members.map((member, m) => {
    const hash: Record<string, string> = {};
    fields.forEach((field, i) => {
      const value = values[m]?.[i];
      if (typeof value === 'string') hash[field] = value;
    });
    return { member, hash };
  });
}

/** A message with its timestamp as stored (microseconds, for cursors). */
export type StampedMessage = StampedMessagePage['items'][number];

/** A message of an index and its timestamp, or null when its hash cannot be read. */
function stampedOf(member: string, hash: Record<string, string>): StampedMessage | null {
  const message = messageFromHash(hash, messageIdOfMember(member));
  return message
    ? { message, timestamp: hash.timestamp ?? '0', seenless: hash.seen === undefined }
    : null;
}

/** The messages index members name, in their order; null for one that cannot be read. */
export async function readMessagesOf(
  backend: Backend,
  members: readonly string[],
): Promise<(StampedMessage | null)[]> {
  const entries = await hashesOf(
    backend,
    members,
    (member) => backend.keys.messageOfMember(member),
    MESSAGE_FIELDS,
  );
  return entries.map(({ member, hash }) => stampedOf(member, hash));
}

/**
 * A page of messages of an index (an inbox, a conversation), each with its timestamp as
 * stored (microseconds, for cursors). Entries whose hash cannot be read are left out and
 * counted; `first` and `last` are the page's outer entries, read or not, so that a reader
 * can page on past them.
 */
export interface StampedMessagePage {
  items: {
    message: Message;
    timestamp: string;
    /**
     * The hash has no `seen` field: written the original program's way (this library
     * always writes one), so its conversation entries may be missing.
     */
    seenless: boolean;
  }[];
  hasOlder: boolean;
  hasNewer: boolean;
  skipped: number;
  first?: string;
  last?: string;
}

/**
 * A page of an index of the messages `receivers` received (an inbox: its user; a
 * conversation: both users): a cursor's member names its receiver on a cluster.
 */
export async function readMessagePage(
  backend: Backend,
  index: string,
  receivers: readonly string[],
  request: PageRequest,
): Promise<StampedMessagePage> {
  const { keys } = backend;
  const page = await readIndexPage(
    backend,
    index,
    request,
    (member) => keys.messageOfMember(member),
    MESSAGE_FIELDS,
    (cursor) => [...new Set(receivers.map((receiver) => keys.messageMember(cursor, receiver)))],
  );
  // An entry whose hash is missing (the original program's two-step writes, a clean-up
  // that deleted hashes) or is not a hash is skipped rather than shown as an empty
  // message, and rather than failing the page.
  const items = page.entries.flatMap(({ member, hash }) => stampedOf(member, hash) ?? []);
  const ids = page.entries.map(({ member }) => messageIdOfMember(member)).filter((m) => isId(m));
  return {
    items,
    hasOlder: page.hasOlder,
    hasNewer: page.hasNewer,
    skipped: page.entries.length - items.length,
    first: ids[0],
    last: ids.at(-1),
  };
}

/** The page as callers see it: the messages, and what was skipped with cursors past it. */
export function messagePageOf(page: StampedMessagePage): MessagePage {
  const { items, hasOlder, hasNewer, skipped, first, last } = page;
  const result: MessagePage = { messages: items.map((item) => item.message), hasOlder, hasNewer };
  if (skipped > 0) result.skipped = { count: skipped, before: first, after: last };
  return result;
}
