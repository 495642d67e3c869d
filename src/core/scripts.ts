/**
 * The messenger's Lua scripts, one .lua file each in ./scripts/ (shipped in the build).
 * Each file's header lists its KEYS, ARGV and reply.
 * @module
 */
import { LuaScript } from '../redis/lua-script.js';

const folder = new URL('./scripts/', import.meta.url);

export const scripts = {
  createUser: LuaScript.fromFile(folder, 'create-user-n'),
  indexNames: LuaScript.fromFile(folder, 'index-names-3'),
  searchNames: LuaScript.fromFile(folder, 'search-names-2'),
  // Standalone only: they read the message hashes an index names, undeclared.
  countUnread: LuaScript.fromFile(folder, 'count-unread-2'),
  commitUnread: LuaScript.fromFile(folder, 'commit-unread-2'),
  findUnseen: LuaScript.fromFile(folder, 'find-unseen-2'),
  repairUnread: LuaScript.fromFile(folder, 'repair-unread-2'),
  sendMessage: LuaScript.fromFile(folder, 'send-message-9'),
  page: LuaScript.fromFile(folder, 'page-1'),
  addContact: LuaScript.fromFile(folder, 'add-contact-n'),
  markSeen: LuaScript.fromFile(folder, 'mark-seen-n'),
  markConversationSeen: LuaScript.fromFile(folder, 'mark-conversation-seen-2'),
  openSession: LuaScript.fromFile(folder, 'open-session-3'),
  touchSession: LuaScript.fromFile(folder, 'touch-session-1'),
  rateWindow: LuaScript.fromFile(folder, 'rate-window-1'),
  rateBucket: LuaScript.fromFile(folder, 'rate-bucket-1'),
  rateLockout: LuaScript.fromFile(folder, 'rate-lockout-1'),
  // Cluster only: the steps of writes whose keys span hash slots (backend/cluster-writes.ts).
  storeUser: LuaScript.fromFile(folder, 'store-user-1'),
  checkSender: LuaScript.fromFile(folder, 'check-sender-5'),
  deliverMessage: LuaScript.fromFile(folder, 'deliver-message-7'),
  noteSent: LuaScript.fromFile(folder, 'note-sent-2'),
  addToConversation: LuaScript.fromFile(folder, 'add-to-conversation-1'),
  // Those steps in one script, when one master serves both users' slots (Redis 7's flags).
  sendOnOneNode: LuaScript.fromFile(folder, 'send-on-one-node-2'),
  flipSeen: LuaScript.fromFile(folder, 'flip-seen-1'),
  forgetUnread: LuaScript.fromFile(folder, 'forget-unread-n'),
  addUnseen: LuaScript.fromFile(folder, 'add-unseen-n'),
  pruneUnseen: LuaScript.fromFile(folder, 'prune-unseen-n'),
  // `messenger migrate` only: a cluster's keys from layout 1 to layout 2.
  renameMembers: LuaScript.fromFile(folder, 'rename-members-1'),
} as const;
