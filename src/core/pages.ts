/**
 * Reading one page of a sorted-set index (an inbox, a conversation, the user list) with
 * the hash each entry names: two round trips, whatever the page size.
 * @module
 */
import { CursorNotFoundError } from '../errors.js';
import type { Backend } from './backend/index.js';
import { scripts } from './scripts.js';
import type { PageRequest } from './validate.js';

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
 * the `fields` of the hash `hashKey` names for every member, all at once. `toMember`
 * turns a cursor (an id) into the member it names.
 */
export async function readIndexPage(
  backend: Backend,
  index: string,
  request: PageRequest,
  hashKey: (member: string) => string,
  fields: readonly string[],
  toMember: (cursor: string) => string = (cursor) => cursor,
): Promise<IndexPage> {
  let cursor = '';
  if (request.mode === 'before' || request.mode === 'after') cursor = toMember(request.cursor);
  else if (request.mode === 'after-score') cursor = request.cursor;
  const reply = (await scripts.page.run(
    backend.client,
    [index],
    [request.mode, String(request.limit), cursor],
  )) as PageScriptReply;
  if (reply === -1) throw new CursorNotFoundError('cursor' in request ? request.cursor : '');
  const [hasOlder, hasNewer, ...members] = reply;
  // Members name hashes that never change but for `seen`, so reading them after the
  // index is as good as with it.
  const values = await Promise.all(
    members.map((member) => backend.readHash(hashKey(member), fields)),
  );
  const entries = members.map((member, m) => {
    const hash: Record<string, string> = {};
    fields.forEach((field, i) => {
      const value = values[m]?.[i];
      if (typeof value === 'string') hash[field] = value;
    });
    return { member, hash };
  });
  return { entries, hasOlder: hasOlder === 1, hasNewer: hasNewer === 1 };
}
