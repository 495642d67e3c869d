--[[
  Stores one message and every index entry for it, all or nothing, then rings the
  receiver's doorbell and tells the sender's channel (their other devices). Sending a
  message id that is already stored stores nothing. With a send limit, first takes a
  token from the sender's bucket (a retry too, as a request of its own); when the bucket
  has none, it stores nothing.

  KEYS[1] user:<sender>
  KEYS[2] user:<receiver>
  KEYS[3] message:<id>                   HASH (the seed's)
  KEYS[4] user_messages:<receiver>       ZSET the receiver's inbox (the seed's)
  KEYS[5] conversation:<low>:<high>      ZSET both directions
  KEYS[6] user_conversations:<sender>    ZSET
  KEYS[7] user_conversations:<receiver>  ZSET
  KEYS[8] user_unread:<receiver>         HASH sender -> unseen count
  KEYS[9] rate:send:<sender>             HASH the sender's send bucket (token-bucket.lua)
  ARGV[1] message id
  ARGV[2] sender id
  ARGV[3] receiver id
  ARGV[4] text
  ARGV[5] the receiver's doorbell channel
  ARGV[6] the sender's channel
  ARGV[7] the bucket's burst, or '' for no send limit
  ARGV[8] the bucket's milliseconds per token
  Returns: {1, timestamp} when stored; {0, timestamp, seen} when it was stored before (a
           retry; seen 'True' or 'False'); {-1} no such sender; {-2} no such receiver;
           {-3} the id belongs to another message; {-4, key, problem} a key holds what it
           should not (bad data): nothing written; {-5, ms} the sender's bucket is empty
           for ms more: nothing written
]]
--#include token-bucket

if ARGV[7] ~= '' then
  local wait = take_token(KEYS[9], tonumber(ARGV[7]), tonumber(ARGV[8]))
  if wait > 0 then return {-5, tostring(wait)} end
end
--#include bad-data
-- (pcall: a message key of another type is refused as bad data, not with a raw error.)
local stored = redis.pcall('HMGET', KEYS[3], 'sender_id', 'receiver_id', 'message', 'timestamp',
  'seen')
if stored.err then return wrong_type({[3] = 'hash'}) or error(stored) end
if stored[1] then
  if stored[1] == ARGV[2] and stored[2] == ARGV[3] and stored[3] == ARGV[4] then
    return {0, stored[4], stored[5] or 'False'}
  end
  return {-3}
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {-2} end
local bad = wrong_type({[4] = 'zset', [5] = 'zset', [6] = 'zset', [7] = 'zset', [8] = 'hash'})
  or bad_count(KEYS[8], ARGV[2])
if bad then return bad end

--#include time
--#include doorbell

-- The newest entry of an index, in microseconds, and its member.
local function newest(index)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if last[2] then return micros_of(last[2]), last[1] end
  return 0, ''
end

-- Server time in microseconds, moved past the newest entry of both indexes: an index
-- only ever grows at its end, so a reader holding a cursor never misses a message,
-- and messages sent in the same microsecond keep the order they were sent in.
local micros = now_micros()
local inbox_newest, previous = newest(KEYS[4])
local conversation_newest = newest(KEYS[5])
micros = math.max(micros, inbox_newest + 1, conversation_newest + 1)
local timestamp = format_micros(micros)

local member = 'message:' .. ARGV[1]
redis.call('HSET', KEYS[3], 'message_id', ARGV[1], 'sender_id', ARGV[2], 'receiver_id', ARGV[3],
  'message', ARGV[4], 'timestamp', timestamp, 'seen', 'False')
redis.call('ZADD', KEYS[4], timestamp, member)
redis.call('ZADD', KEYS[5], timestamp, member)
redis.call('ZADD', KEYS[6], timestamp, ARGV[3])
redis.call('ZADD', KEYS[7], timestamp, ARGV[2])
redis.call('HINCRBY', KEYS[8], ARGV[2], 1)
redis.call('PUBLISH', ARGV[5], received_bell(ARGV[1], ARGV[2], ARGV[3], ARGV[4], timestamp, previous))
redis.call('PUBLISH', ARGV[6], sent_bell(ARGV[1], ARGV[2], ARGV[3], ARGV[4], timestamp))
return {1, timestamp}
