-- Included by the cluster's send scripts (`--#include send-steps`): the three parts of a
-- send, each in one user's slot, written once for the steps (check-sender-5,
-- deliver-message-7, note-sent-2) and for the whole send on one node
-- (send-on-one-node-2). Needs the time, doorbell and bad-data includes before it. Each
-- check returns nil when all is well, else the send's reply.
--
-- (Numbers are given to redis.call as strings: '-1', not -1, which Redis would format.)
--
-- Every key a part writes is read first, before anything is written, by a read the part
-- needs anyway where it has one (the newest entry of a sorted set, a hash's fields), else
-- by TYPE: so a key holding another type is refused with {-4} having written nothing
-- (Redis does not undo a script's writes when a later one fails), and on one node a key
-- this node does not serve now is met before any write too ({-9}, send-on-one-node-2).

-- Set by send-on-one-node-2 to its reply for a key this node does not serve ({-9}); nil in
-- the step scripts, whose keys are all declared: there a read that fails otherwise than
-- on the type fails the script, as redis.call would.
local not_here = nil

-- A read of `key` before any write: its reply, or nil and the send's reply when the key
-- holds another type than `kind` ({-4}) or is not served here (`not_here`).
local function read(kind, key, command, ...)
  local reply = redis.pcall(command, key, ...)
  if type(reply) ~= 'table' or not reply.err then return reply end
  if string.find(reply.err, 'WRONGTYPE', 1, true) then
    return nil, wrong_type({kind}, {key})
  end
  if not_here then return nil, not_here end
  return error(reply)
end

-- Refuses a key of another type than `kind`, for a key the part writes but has no
-- other read of.
local function check_type(kind, key)
  local found, refused = read(kind, key, 'TYPE')
  if refused then return refused end
  found = found.ok
  -- (Compared here: wrong_type's tables and sort cost more than the TYPE, every send.)
  if found ~= kind and found ~= 'none' then return wrong_type({kind}, {key}, {found}) end
end

local function same_message(found, sender, receiver, text)
  return found[1] == sender and found[2] == receiver and found[3] == text
end

-- The sender's part, before anything is stored. S: user, conversations, copy (their
-- conversation with the receiver), claimed (the hash a message to the sender with this id
-- would have). The sender exists (users are never deleted, so it stays true); no message
-- of the conversation already has this id (a message the receiver sent the sender with it
-- would share the sender's slot): ids are unique in every conversation and inbox; and the
-- keys the send writes here after delivery hold what they should, so that it cannot fail
-- once the message is visible. Keeps the copy's newest entry in S.newest.
local function check_sender(S, m)
  local found, refused = read('hash', S.user, 'EXISTS')
  if refused then return refused end
  if found == 0 then return {-1} end
  local claimed
  claimed, refused = read('hash', S.claimed, 'HMGET', 'sender_id', 'receiver_id', 'message')
  if refused then return refused end
  if claimed[1] and not same_message(claimed, m.sender, m.receiver, m.text) then return {-3} end
  S.newest, refused = read('zset', S.copy, 'ZRANGE', '-1', '-1', 'WITHSCORES')
  return refused or check_type('zset', S.conversations)
end

-- The receiver's part, checking. R: user, inbox, conversations, unread, unseen, message
-- (the hash), copy (their conversation with the sender). A retry finds its message:
-- {0, timestamp, seen}, having written nothing; a message whose hash is gone (a retention
-- job) but whose inbox entry is left counts as stored before too. Keeps the newest
-- entries of the inbox and of the copy in R.newest and R.copy_newest.
local function check_receiver(R, m)
  local stored, refused = read('hash', R.message, 'HMGET', 'sender_id', 'receiver_id', 'message',
    'seen', 'timestamp')
  if refused then return refused end
  local score
  score, refused = read('zset', R.inbox, 'ZSCORE', m.member)
  if refused then return refused end
  if stored[1] then
    if not same_message(stored, m.sender, m.receiver, m.text) then return {-3} end
    return {0, score and format_micros(micros_of(score)) or stored[5] or '', stored[4] or 'False'}
  end
  if score then return {0, format_micros(micros_of(score)), 'False'} end
  local found
  found, refused = read('hash', R.user, 'EXISTS')
  if refused then return refused end
  if found == 0 then return {-2} end
  R.newest = redis.call('ZRANGE', R.inbox, '-1', '-1', 'WITHSCORES')
  R.copy_newest, refused = read('zset', R.copy, 'ZRANGE', '-1', '-1', 'WITHSCORES')
  if refused then return refused end
  local count
  count, refused = read('hash', R.unread, 'HGET', m.sender)
  if refused then return refused end
  if count and not string.match(count, '^%-?%d+$') then
    return {-4, R.unread, 'holds a count for ' .. m.sender .. ' that is not a whole number'}
  end
  return check_type('zset', R.conversations) or check_type('zset', R.unseen)
end

-- Puts the member into a user's copy of the conversation at `micros`, raised past its
-- newest entry (`newest`, as ZRANGE -1 -1 WITHSCORES gave it; read here when nil): the
-- other user's messages are scored by another slot's clock, and a copy only grows at its
-- end, so a reader paging it forwards misses nothing. Once only: a message `fresh`
-- (stored by this very send) is not looked for, and NX keeps where it is one that a
-- concurrent retry of the send (or a reindex) put there meanwhile.
local function add_to_copy(copy, micros, member, fresh, newest)
  if not fresh and redis.call('ZSCORE', copy, member) then return end
  newest = newest or redis.call('ZRANGE', copy, '-1', '-1', 'WITHSCORES')
  if newest[2] then micros = math.max(micros, micros_of(newest[2]) + 1) end
  redis.call('ZADD', copy, 'NX', format_micros(micros), member)
end

-- The receiver's part, writing, after check_receiver: the hash, at this node's time
-- raised past the inbox's newest entry (the inbox only grows at its end, so a subscriber
-- holding a cursor never misses a message), the inbox entry at the same time (now it is
-- visible), the unread count and the set it is the size of, the sender raised in the
-- receiver's conversations, the receiver's copy, and the doorbell. Returns the timestamp.
local function deliver(R, m, channel)
  local micros = now_micros()
  local previous = ''
  if R.newest[2] then
    micros = math.max(micros, micros_of(R.newest[2]) + 1)
    previous = R.newest[1]
  end
  local timestamp = format_micros(micros)
  redis.call('HSET', R.message, 'message_id', m.id, 'sender_id', m.sender, 'receiver_id', m.receiver,
    'message', m.text, 'timestamp', timestamp, 'seen', 'False')
  redis.call('ZADD', R.inbox, timestamp, m.member)
  redis.call('ZADD', R.conversations, 'GT', timestamp, m.sender)
  redis.call('HINCRBY', R.unread, m.sender, '1')
  redis.call('ZADD', R.unseen, timestamp, m.member)
  add_to_copy(R.copy, micros, m.member, true, R.copy_newest)
  redis.call('SPUBLISH', channel, received_bell(m.id, m.sender, m.receiver, m.text, timestamp, previous))
  return timestamp
end

-- The sender's part after delivery: their copy of the conversation, the receiver raised
-- in their conversations (ZADD GT), and, when `channel` is given (the send delivered it
-- now, the first time only), their channel told what they sent. Run again (with no
-- channel: a retry's delivery found it stored) it changes nothing. S.newest: the copy's
-- newest entry where check_sender read it in this same script.
local function note_sent(S, m, timestamp, channel)
  -- A hash stored before with no usable time (written by another program) places nothing.
  if not tonumber(timestamp) then return end
  add_to_copy(S.copy, micros_of(timestamp), m.member, channel ~= '', S.newest)
  redis.call('ZADD', S.conversations, 'GT', timestamp, m.receiver)
  if channel ~= '' then
    redis.call('SPUBLISH', channel, sent_bell(m.id, m.sender, m.receiver, m.text, timestamp))
  end
end
