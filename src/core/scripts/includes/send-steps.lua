-- Included by the cluster's send scripts (`--#include send-steps`): the three parts of a
-- send, each in one user's slot, written once for the steps (check-sender-5,
-- deliver-message-7, note-sent-2) and for the whole send on one node
-- (send-on-one-node-2). Needs the time, doorbell and bad-data includes before it. Each
-- check returns nil when all is well, else the send's reply; nothing is written before
-- every check of a part has passed.

-- Set by send-on-one-node-2 to the TYPE of every key, read before anything is written;
-- nil in the step scripts, whose checks read the types themselves.
local known_types = nil

local function check_types(wanted, keys)
  if not known_types then return wrong_type(wanted, keys) end
  local types = {}
  for i in pairs(wanted) do types[i] = known_types[keys[i]] end
  return wrong_type(wanted, keys, types)
end

local function same_message(found, sender, receiver, text)
  return found[1] == sender and found[2] == receiver and found[3] == text
end

-- Whether a key may exist: false only when its type, read already, says it does not (a
-- send's keys are mostly new: the read spares Redis a command a key).
local function may_exist(key)
  return not known_types or known_types[key] ~= 'none'
end

local function exists(key)
  if known_types then return known_types[key] ~= 'none' end
  return redis.call('EXISTS', key) == 1
end

-- The sender's part, before anything is stored. S: user, conversations, copy (their
-- conversation with the receiver), claimed (the hash a message to the sender with this id
-- would have). The sender exists (users are never deleted, so it stays true); no message
-- of the conversation already has this id (a message the receiver sent the sender with it
-- would share the sender's slot): ids are unique in every conversation and inbox; and the
-- keys the send writes here after delivery hold what they should, so that it cannot fail
-- once the message is visible.
local function check_sender(S, sender, receiver, text)
  if redis.call('EXISTS', S.user) == 0 then return {-1} end
  if may_exist(S.claimed) then
    local claimed = redis.call('HMGET', S.claimed, 'sender_id', 'receiver_id', 'message')
    if claimed[1] and not same_message(claimed, sender, receiver, text) then return {-3} end
  end
  return check_types({[1] = 'zset', [2] = 'zset'}, {S.conversations, S.copy})
end

-- The receiver's part, checking. R: user, inbox, conversations, unread, unseen, message
-- (the hash), copy (their conversation with the sender). A retry finds its message:
-- {0, timestamp, seen}, having written nothing; a message whose hash is gone (a retention
-- job) but whose inbox entry is left counts as stored before too.
local function check_receiver(R, m)
  local stored = {}
  if may_exist(R.message) then
    stored = redis.call('HMGET', R.message, 'sender_id', 'receiver_id', 'message', 'seen', 'timestamp')
  end
  local score = redis.call('ZSCORE', R.inbox, m.member)
  if stored[1] then
    if not same_message(stored, m.sender, m.receiver, m.text) then return {-3} end
    return {0, score and format_micros(micros_of(score)) or stored[5] or '', stored[4] or 'False'}
  end
  if score then return {0, format_micros(micros_of(score)), 'False'} end
  if not exists(R.user) then return {-2} end
  return check_types({[1] = 'zset', [2] = 'zset', [3] = 'hash', [4] = 'zset', [5] = 'hash', [6] = 'zset'},
    {R.inbox, R.conversations, R.unread, R.unseen, R.message, R.copy})
    or bad_count(R.unread, m.sender)
end

-- Puts the member into a user's copy of the conversation at `micros`, raised past its
-- newest entry (the other user's messages are scored by another slot's clock): a copy
-- only grows at its end, so a reader paging it forwards misses nothing. Once only: a
-- message `fresh` (stored by this very send) cannot be there yet, any other is looked for.
local function add_to_copy(copy, micros, member, fresh)
  if not fresh and redis.call('ZSCORE', copy, member) then return end
  local last = redis.call('ZRANGE', copy, -1, -1, 'WITHSCORES')
  if last[2] then micros = math.max(micros, micros_of(last[2]) + 1) end
  redis.call('ZADD', copy, format_micros(micros), member)
end

-- The receiver's part, writing: the hash, at this node's time raised past the inbox's
-- newest entry (the inbox only grows at its end, so a subscriber holding a cursor never
-- misses a message), the inbox entry at the same time (now it is visible), the unread
-- count and the set it is the size of, the sender raised in the receiver's conversations,
-- the receiver's copy, and the doorbell. Returns the timestamp.
local function deliver(R, m, channel)
  local micros = now_micros()
  local last = redis.call('ZRANGE', R.inbox, -1, -1, 'WITHSCORES')
  local previous = ''
  if last[2] then
    micros = math.max(micros, micros_of(last[2]) + 1)
    previous = last[1]
  end
  local timestamp = format_micros(micros)
  redis.call('HSET', R.message, 'message_id', m.id, 'sender_id', m.sender, 'receiver_id', m.receiver,
    'message', m.text, 'timestamp', timestamp, 'seen', 'False')
  redis.call('ZADD', R.inbox, timestamp, m.member)
  redis.call('ZADD', R.conversations, 'GT', timestamp, m.sender)
  redis.call('HINCRBY', R.unread, m.sender, 1)
  redis.call('ZADD', R.unseen, timestamp, m.member)
  add_to_copy(R.copy, micros, m.member, true)
  redis.call('SPUBLISH', channel, received_bell(m.id, m.sender, m.receiver, m.text, timestamp, previous))
  return timestamp
end

-- The sender's part after delivery: their copy of the conversation, the receiver raised
-- in their conversations (ZADD GT), and, when `channel` is given (the send delivered it
-- now, the first time only), their channel told what they sent. Run again (with no
-- channel: a retry's delivery found it stored) it changes nothing.
local function note_sent(S, m, timestamp, channel)
  -- A hash stored before with no usable time (written by another program) places nothing.
  if not tonumber(timestamp) then return end
  add_to_copy(S.copy, micros_of(timestamp), m.member, channel ~= '')
  redis.call('ZADD', S.conversations, 'GT', timestamp, m.receiver)
  if channel ~= '' then
    redis.call('SPUBLISH', channel, sent_bell(m.id, m.sender, m.receiver, m.text, timestamp))
  end
end
