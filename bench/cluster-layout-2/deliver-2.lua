--[[
  A PROTOTYPE of cluster layout 2 (bench/cluster-layout-2.ts: measured, not used by the
  library). In the receiver's slot, one script: the message hash (message:{<receiver>}:<id>),
  the inbox entry, the unread count and the set of unseen messages, the receiver's
  recency, the receiver's own copy of the conversation and the doorbell. What layout 1
  does in store-message-1, deliver-message-5 and add-to-conversation-1 on up to three
  masters.

  KEYS[1] user:{<receiver>}   KEYS[2] user_messages:{<receiver>}   KEYS[3] user_conversations:{<receiver>}
  KEYS[4] user_unread:{<receiver>}   KEYS[5] user_unseen:{<receiver>}:<sender>
  KEYS[6] message:{<receiver>}:<id>   KEYS[7] conversation:{<receiver>}:<sender>
  ARGV[1] message id, ARGV[2] sender id, ARGV[3] receiver id, ARGV[4] text,
  ARGV[5] the receiver's doorbell channel
  Returns: {1, timestamp} delivered now; {0, timestamp} before; {-2} no such receiver;
           {-3} the id names another message; {-4, key, problem} bad data
]]
--#include time
--#include doorbell
--#include bad-data
local member = 'message:' .. ARGV[1]
local stored = redis.call('HMGET', KEYS[6], 'sender_id', 'receiver_id', 'message', 'seen', 'timestamp')
if stored[1] then
  if stored[1] ~= ARGV[2] or stored[2] ~= ARGV[3] or stored[3] ~= ARGV[4] then return {-3} end
end
local score = redis.call('ZSCORE', KEYS[2], member)
if score then return {0, format_micros(micros_of(score))} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2} end
local bad = wrong_type({[2] = 'zset', [3] = 'zset', [4] = 'hash', [5] = 'zset', [6] = 'hash', [7] = 'zset'})
  or bad_count(KEYS[4], ARGV[2])
if bad then return bad end
local micros = now_micros()
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local previous = ''
if last[2] then
  micros = math.max(micros, micros_of(last[2]) + 1)
  previous = last[1]
end
local timestamp = format_micros(micros)
redis.call('HSET', KEYS[6], 'message_id', ARGV[1], 'sender_id', ARGV[2], 'receiver_id', ARGV[3],
  'message', ARGV[4], 'timestamp', timestamp, 'seen', 'False')
redis.call('ZADD', KEYS[2], timestamp, member)
redis.call('ZADD', KEYS[3], 'GT', timestamp, ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
redis.call('ZADD', KEYS[5], timestamp, member)
-- the receiver's copy of the conversation only grows at its end
local c = micros
local clast = redis.call('ZRANGE', KEYS[7], -1, -1, 'WITHSCORES')
if clast[2] then c = math.max(c, micros_of(clast[2]) + 1) end
redis.call('ZADD', KEYS[7], format_micros(c), member)
redis.call('SPUBLISH', ARGV[5], received_bell(ARGV[1], ARGV[2], ARGV[3], ARGV[4], timestamp, previous))
return {1, timestamp}
