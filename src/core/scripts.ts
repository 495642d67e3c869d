/**
 * The messenger's Lua scripts, one .lua file each in ./scripts/ (shipped in the build).
 * Each file's header lists its KEYS, ARGV and reply.
 * @module
 */
import { LuaScript } from '../redis/lua-script.js';

const folder = new URL('./scripts/', import.meta.url);

export const scripts = {
  createUser: LuaScript.fromFile(folder, 'create-user-5'),
  indexNames: LuaScript.fromFile(folder, 'index-names-2'),
  countUnread: LuaScript.fromFile(folder, 'count-unread-2'),
  sendMessage: LuaScript.fromFile(folder, 'send-message-8'),
  page: LuaScript.fromFile(folder, 'page-1'),
  addContact: LuaScript.fromFile(folder, 'add-contact-3'),
  markSeen: LuaScript.fromFile(folder, 'mark-seen-n'),
  markConversationSeen: LuaScript.fromFile(folder, 'mark-conversation-seen-2'),
} as const;
