#!lua flags=allow-cross-slot-keys
--[[
  Cluster only: a whole send in one script, when the master that serves the message's
  slot serves the sender's, the receiver's and the conversation's too (every send on a
  cluster of one shard). The same steps as check-sender-3, store-message-1,
  deliver-message-5, add-to-conversation-1 and note-sent-1, in their order, with the
  same replies and the same effects, but all or nothing and one round trip instead of
  three (src/core/backend/cluster-writes.ts). The other slots' keys are not declared
  (the allow-cross-slot-keys flag, Redis 7): Redis only lets a script touch keys its
  node serves, and fails the command that touches any other, after the script's earlier
  writes. So every key is read first, before anything is written: if a slot has moved or
  is migrating (a key that is not here yet is on its way, or already gone), that read
  fails and the script returns {-9} having written nothing, and the caller takes the
  steps instead. The caller never sends it on after a redirection either: on the node a
  slot is being imported to (ASK, ASKING), a key that has not arrived reads as missing
  rather than failing, which would refuse a receiver who exists or start a second inbox.

  KEYS[1]  message:{<id>}                     HASH (the seed's fields)
  ARGV[1]  message id
  ARGV[2]  sender id
  ARGV[3]  receiver id
  ARGV[4]  text
  ARGV[5]  the receiver's doorbell channel (sharded)
  ARGV[6]  the sender's doorbell channel (sharded)
  ARGV[7]  the send bucket's burst, or '' for no send limit
  ARGV[8]  the bucket's milliseconds per token
  ARGV[9]  user:{<sender>}                    HASH
  ARGV[10] user_conversations:{<sender>}      ZSET
  ARGV[11] rate:send:{<sender>}               HASH the sender's send bucket (token-bucket.lua)
  ARGV[12] conversation:{<low>:<high>}        ZSET
  ARGV[13] user:{<receiver>}                  HASH
  ARGV[14] user_messages:{<receiver>}         ZSET the inbox
  ARGV[15] user_conversations:{<receiver>}    ZSET
  ARGV[16] user_unread:{<receiver>}           HASH sender -> unseen count
  ARGV[17] user_unseen:{<receiver>}:<sender>  ZSET the sender's unseen messages
  Returns: as send-message-9.lua: {1, timestamp} stored now; {0, timestamp, seen} stored
           before (a retry; it completes what an earlier send's steps left undone); {-1}
           no such sender; {-2} no such receiver; {-3} the id belongs to another message;
           {-4, key, problem} bad data, nothing written; {-5, ms} the sender's bucket is
           empty for ms more, nothing written. And {-9}: a key is not served here now,
           nothing written.
]]
--#include time
--#include doorbell
--#include bad-data
--#include token-bucket

local sender_conversations, bucket, conversation = ARGV[10], ARGV[11], ARGV[12]
local inbox, receiver_conversations, unread, unseen = ARGV[14], ARGV[15], ARGV[16], ARGV[17]
local message = KEYS[1]

-- Everything this send may read or write, read once: a key of a slot this node does not
-- serve now fails here, before any write. The types are the checks' below. (The bucket
-- only with a send limit: without one, the send does not touch it.)
local types = {}
for i = 9, 17 do
  if i ~= 11 or ARGV[7] ~= '' then
    local found = redis.pcall('TYPE', ARGV[i])
    if found.err then return {-9} end
    types[i] = found.ok
  end
end

-- check-sender-3: the token first; a send past its bucket writes nothing else.
if ARGV[7] ~= '' then
  local wait = take_token(bucket, tonumber(ARGV[7]), tonumber(ARGV[8]))
  if wait > 0 then return {-5, tostring(wait)} end
end

-- store-message-1, the checking half: a retry finds its own message.
local stored = redis.call('HMGET', message, 'sender_id', 'receiver_id', 'message', 'seen', 'timestamp')
local seen, stamped = 'False', nil
if stored[1] then
  if not (stored[1] == ARGV[2] and stored[2] == ARGV[3] and stored[3] == ARGV[4]) then
    return {-3}
  end
  seen, stamped = stored[4] or 'False', stored[5] or ''
end
if types[9] == 'none' then return {-1} end
-- In the steps' order: the sender's list (check-sender-3), then the conversation.
local bad = wrong_type({[10] = 'zset', [12] = 'zset'}, ARGV, types)
if bad then return bad end

-- deliver-message-5, the checking half: only a message not delivered yet needs them.
-- (Looked for even when no hash was found: an inbox entry can outlive its hash.)
local member = 'message:' .. ARGV[1]
local score = redis.call('ZSCORE', inbox, member)
if not score then
  if types[13] == 'none' then return {-2} end
  bad = wrong_type({[14] = 'zset', [15] = 'zset', [16] = 'hash', [17] = 'zset'}, ARGV, types)
    or bad_count(unread, ARGV[2])
  if bad then return bad end
end

-- Every check passed: the writes, in the steps' order.
if not stamped then
  stamped = format_micros(now_micros())
  redis.call('HSET', message, 'message_id', ARGV[1], 'sender_id', ARGV[2], 'receiver_id', ARGV[3],
    'message', ARGV[4], 'timestamp', stamped, 'seen', 'False')
end
local timestamp
if score then
  timestamp = format_micros(micros_of(score))
else
  local micros = tonumber(stamped) and micros_of(stamped) or now_micros()
  local last = redis.call('ZRANGE', inbox, -1, -1, 'WITHSCORES')
  local previous = ''
  if last[2] then
    micros = math.max(micros, micros_of(last[2]) + 1)
    previous = last[1]
  end
  timestamp = format_micros(micros)
  redis.call('ZADD', inbox, timestamp, member)
  redis.call('ZADD', receiver_conversations, 'GT', timestamp, ARGV[2])
  redis.call('HINCRBY', unread, ARGV[2], 1)
  redis.call('ZADD', unseen, timestamp, member)
  redis.call('SPUBLISH', ARGV[5], received_bell(ARGV[1], ARGV[2], ARGV[3], ARGV[4], timestamp, previous))
end
if timestamp ~= stamped then redis.call('HSET', message, 'timestamp', timestamp) end

-- add-to-conversation-1
if not redis.call('ZSCORE', conversation, member) then
  local micros = micros_of(timestamp)
  local last = redis.call('ZRANGE', conversation, -1, -1, 'WITHSCORES')
  if last[2] then micros = math.max(micros, micros_of(last[2]) + 1) end
  redis.call('ZADD', conversation, format_micros(micros), member)
end

-- note-sent-1
redis.call('ZADD', sender_conversations, 'GT', timestamp, ARGV[3])
if not score then
  redis.call('SPUBLISH', ARGV[6], sent_bell(ARGV[1], ARGV[2], ARGV[3], ARGV[4], timestamp))
end
return {stored[1] and 0 or 1, timestamp, seen}
