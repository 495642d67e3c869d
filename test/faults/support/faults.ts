/**
 * Helpers for the fault tests: a raw client for inspecting and disturbing a throwaway
 * server, a seeded PRNG, promise tracking, and a check of a namespace's keys against
 * docs/schema.md (dangling index entries, orphan messages, unread counters vs seen flags).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createClient, type RedisClientType } from 'redis';
import { type MessengerOptions, RedisMessenger } from '../../../src/index.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Like sleep, but does not keep the process alive: for the losing side of a race. */
export const idle = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** A plain node-redis client for a server we started; its connection errors are ignored. */
export async function rawClient(url: string): Promise<RedisClientType> {
  const client = createClient({
    url,
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 500) },
  }) as RedisClientType;
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** A messenger under `<namespace>` (a fresh random one when none is given). */
export function messengerIn(
  url: string,
  namespace: string = `fault-${randomUUID()}`,
  options: MessengerOptions = {},
): Promise<RedisMessenger> {
  return RedisMessenger.connect({ url, namespace, ...options });
}

/** mulberry32: a small, seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keeps every promise handed to it until it settles, so a test can count the ones left. */
export class PendingTracker {
  readonly #pending = new Set<Promise<unknown>>();

  track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    const forget = () => this.#pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Waits until nothing is pending or `ms` have passed; returns how many are still pending. */
  async settle(ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.#pending.size > 0 && Date.now() < deadline) await sleep(10);
    return this.#pending.size;
  }
}

/** The name of an error, for tallies: its class name, or its type when it is not an Error. */
export function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return `non-Error ${typeof error}`;
}

/** Adds one to `tally[key]`. */
export function bump(tally: Record<string, number>, key: string, by = 1): void {
  tally[key] = (tally[key] ?? 0) + by;
}

/** Percentile (0-100) of a list of numbers, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** Key templates as docs/schema.md names them, with every `<placeholder>` made `<id>`. */
export const MESSAGE = 'message:<id>';
export const INBOX = 'user_messages:<id>';
export const CONVERSATION = 'conversation:<id>:<id>';
export const UNREAD = 'user_unread:<id>';

interface SchemaEntry {
  template: string;
  pattern: RegExp;
  /** The first Redis type the Type column names. */
  type: string;
  /** Every Redis type it names ("string (a counter) or hash (...)" names two). */
  types: string[];
}

const REDIS_TYPES: Record<string, string> = {
  hash: 'hash',
  'sorted set': 'zset',
  set: 'set',
  string: 'string',
  list: 'list',
  stream: 'stream',
};

/**
 * The keys docs/schema.md lists: every row of a table whose first column is "Key", its
 * name in backticks (placeholders such as `<user_id>` stand for a UUID, the only user
 * input a key may hold) and its type. Read from the document itself, so that a key the
 * code writes but the document does not list is found.
 */
export function documentedKeys(): SchemaEntry[] {
  const text = readFileSync(new URL('../../../docs/schema.md', import.meta.url), 'utf8');
  const entries: SchemaEntry[] = [];
  let keyTable = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      keyTable = false;
      continue;
    }
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (cells[0] === 'Key') {
      keyTable = true;
      continue;
    }
    const name = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1];
    if (!keyTable || !name) continue;
    const template = name.replace(/<[^>]+>/g, '<id>');
    const pattern = name
      .split(/(<[^>]+>)/)
      .map((part) => (part.startsWith('<') ? `(${placeholderPattern(part)})` : escapeRegExp(part)))
      .join('');
    entries.push({
      template,
      pattern: new RegExp(`^${pattern}$`),
      type: REDIS_TYPES[cells[1] ?? ''] ?? `unknown type "${cells[1]}"`,
      types: typesNamed(cells[1] ?? ''),
    });
  }
  if (entries.length === 0)
    throw new Error('docs/schema.md lists no keys: has its layout changed?');
  return entries;
}

/** The Redis types a Type cell names, in any order ("string (a counter) or hash"). */
function typesNamed(cell: string): string[] {
  let bare = cell.replace(/\([^)]*\)/g, '');
  const types: string[] = [];
  // "sorted set" before "set": each word is taken out once matched.
  for (const [word, type] of Object.entries(REDIS_TYPES)) {
    const named = new RegExp(`(^|\\W)${word}(\\W|$)`);
    if (!named.test(bare)) continue;
    types.push(type);
    bare = bare.replace(named, ' ');
  }
  return types;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The rules of the server's rate limits, as docs/schema.md names them for `rate:<rule>:...`. */
const RATE_RULES = [
  'request',
  'send',
  'anonymous',
  'register',
  'upgrade',
  'login-address',
  'login-pair',
  'login-name',
  'login-known',
];

/**
 * What a placeholder of docs/schema.md stands for: a SHA-256 (hex) where it says so, a
 * rate-limit rule for `<rule>`, else a UUID (the only user input a key may hold).
 */
function placeholderPattern(placeholder: string): string {
  if (placeholder.includes('sha256')) return '[0-9a-f]{64}';
  if (placeholder === '<rule>') return RATE_RULES.map(escapeRegExp).join('|');
  return UUID;
}

const SCHEMA = documentedKeys();

export interface ClassifiedKey {
  key: string;
  /** The docs/schema.md template it matches, e.g. `message:<id>`. */
  kind: string;
  ids: string[];
}

/**
 * Which documented key `key` is (after `prefix`), or null if it is none of them. A
 * conversation key must name its two ids in order (low:high), as keys.ts builds it.
 */
export function classifyKey(key: string, prefix: string): ClassifiedKey | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  for (const { pattern, template } of SCHEMA) {
    const match = pattern.exec(rest);
    if (!match) continue;
    const ids = match.slice(1);
    if (template === CONVERSATION && !((ids[0] ?? '') < (ids[1] ?? ''))) return null;
    return { key, kind: template, ids };
  }
  return null;
}

/** Whether docs/schema.md allows a documented key to be of this Redis type. */
export function schemaAllows(kind: string, type: string): boolean {
  return SCHEMA.find((entry) => entry.template === kind)?.types.includes(type) ?? false;
}

/** The Redis type docs/schema.md gives a documented key. */
export function schemaType(kind: string): string | undefined {
  return SCHEMA.find((entry) => entry.template === kind)?.type;
}

export interface MessageRecord {
  id: string;
  sender: string;
  receiver: string;
  text: string;
  timestamp: string;
  seen: string;
}

export interface NamespaceReport {
  keys: number;
  /** Keys under the prefix that docs/schema.md does not list (or of the wrong type). */
  undocumented: string[];
  messages: Map<string, MessageRecord>;
  /** Every member of every inbox, by receiver. */
  inboxes: Map<string, string[]>;
  inboxEntries: number;
  conversationEntries: number;
  /** Index entries (inbox or conversation) whose message hash does not exist. */
  dangling: string[];
  /** Message hashes missing from their receiver's inbox or from their conversation. */
  orphans: string[];
  /** Message hashes without every field the send script writes. */
  incomplete: string[];
  /** `user_unread:<id>` fields that disagree with the count of `seen == 'False'` messages. */
  unreadMismatches: string[];
  /** Sum of all unread counters. */
  unreadTotal: number;
}

/**
 * Reads every key of one namespace on a throwaway server (KEYS is fine there) and checks
 * it against docs/schema.md and against itself.
 */
export async function inspectNamespace(
  raw: RedisClientType,
  prefix: string,
): Promise<NamespaceReport> {
  const keys = await raw.keys(`${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
  const classified = keys.map((key) => classifyKey(key, prefix));
  const types = await Promise.all(keys.map((key) => raw.type(key)));
  const undocumented: string[] = [];
  classified.forEach((entry, i) => {
    const key = keys[i] ?? '';
    if (!entry) undocumented.push(key);
    else if (!schemaAllows(entry.kind, types[i] ?? '')) undocumented.push(`${key} (${types[i]})`);
  });
  const of = (kind: string) => classified.filter((c): c is ClassifiedKey => c?.kind === kind);

  const messageKeys = of(MESSAGE);
  const hashes = await Promise.all(messageKeys.map((c) => raw.hGetAll(c.key)));
  const messages = new Map<string, MessageRecord>();
  const incomplete: string[] = [];
  messageKeys.forEach((c, i) => {
    const hash = hashes[i] ?? {};
    const id = c.ids[0] ?? '';
    const fields = ['message_id', 'sender_id', 'receiver_id', 'message', 'timestamp', 'seen'];
    if (fields.some((f) => hash[f] === undefined) || hash.message_id !== id) incomplete.push(id);
    messages.set(id, {
      id,
      sender: hash.sender_id ?? '',
      receiver: hash.receiver_id ?? '',
      text: hash.message ?? '',
      timestamp: hash.timestamp ?? '',
      seen: hash.seen ?? '',
    });
  });

  const inboxKeys = of(INBOX);
  const conversationKeys = of(CONVERSATION);
  const [inboxMembers, conversationMembers] = await Promise.all([
    Promise.all(inboxKeys.map((c) => raw.zRange(c.key, 0, -1))),
    Promise.all(conversationKeys.map((c) => raw.zRange(c.key, 0, -1))),
  ]);
  const inboxes = new Map<string, string[]>();
  inboxKeys.forEach((c, i) => void inboxes.set(c.ids[0] ?? '', inboxMembers[i] ?? []));
  const conversations = new Map<string, string[]>();
  conversationKeys.forEach(
    (c, i) => void conversations.set(`${c.ids[0]}:${c.ids[1]}`, conversationMembers[i] ?? []),
  );

  // Dangling entries, checked with EXISTS as a reader would meet them.
  const entries = [...inboxMembers.flat(), ...conversationMembers.flat()];
  const exists = await Promise.all(entries.map((member) => raw.exists(`${prefix}${member}`)));
  const dangling = entries.filter((_, i) => exists[i] === 0);

  const inboxSets = new Map([...inboxes].map(([id, members]) => [id, new Set(members)]));
  const conversationSets = new Map(
    [...conversations].map(([pair, members]) => [pair, new Set(members)]),
  );
  const orphans: string[] = [];
  for (const message of messages.values()) {
    const member = `message:${message.id}`;
    const [low, high] = [message.sender, message.receiver].sort();
    if (
      !inboxSets.get(message.receiver)?.has(member) ||
      !conversationSets.get(`${low}:${high}`)?.has(member)
    ) {
      orphans.push(message.id);
    }
  }

  const expectedUnread = new Map<string, number>();
  for (const message of messages.values()) {
    if (message.seen !== 'False') continue;
    const field = `${message.receiver}/${message.sender}`;
    expectedUnread.set(field, (expectedUnread.get(field) ?? 0) + 1);
  }
  const unreadKeys = of(UNREAD);
  const counters = await Promise.all(unreadKeys.map((c) => raw.hGetAll(c.key)));
  const actualUnread = new Map<string, number>();
  let unreadTotal = 0;
  unreadKeys.forEach((c, i) => {
    for (const [sender, value] of Object.entries(counters[i] ?? {})) {
      actualUnread.set(`${c.ids[0]}/${sender}`, Number(value));
      unreadTotal += Number(value);
    }
  });
  const unreadMismatches: string[] = [];
  for (const field of new Set([...expectedUnread.keys(), ...actualUnread.keys()])) {
    const expected = expectedUnread.get(field) ?? 0;
    const actual = actualUnread.get(field) ?? 0;
    if (expected !== actual)
      unreadMismatches.push(`${field}: counter ${actual}, flags ${expected}`);
  }

  return {
    keys: keys.length,
    undocumented,
    messages,
    inboxes,
    inboxEntries: inboxMembers.reduce((n, members) => n + members.length, 0),
    conversationEntries: conversationMembers.reduce((n, members) => n + members.length, 0),
    dangling,
    orphans,
    incomplete,
    unreadMismatches,
    unreadTotal,
  };
}

/** Reports a figure under the test (shown by every node:test reporter, failing or not). */
export function report(t: { diagnostic(message: string): void }, figure: string): void {
  t.diagnostic(figure);
}
