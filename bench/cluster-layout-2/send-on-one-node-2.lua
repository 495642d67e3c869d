#!lua flags=allow-cross-slot-keys
--[[
  A PROTOTYPE of cluster layout 2 (bench/cluster-layout-2.ts). When one master serves the
  sender's and the receiver's slots (every send on 1 shard, one in N on N shards): the
  sender's check, deliver-2 and note-sent-2 in one script, reaching the receiver's keys
  through allow-cross-slot-keys as send-on-one-node-1.lua does. The prototype leaves out
  what that script does for a slot that moved (read every type first, reply "not here").

  KEYS[1] user:{<sender>}
  ARGV[1] message id, ARGV[2] sender id, ARGV[3] receiver id, ARGV[4] text,
  ARGV[5] the receiver's channel, ARGV[6] the sender's channel, then the keys:
  ARGV[7] user_conversations:{<sender>}, ARGV[8] user:{<receiver>}, ARGV[9] its inbox,
  ARGV[10] its conversations, ARGV[11] its unread counts, ARGV[12] its unseen set from the
  sender, ARGV[13] the message hash, ARGV[14] the receiver's copy of the conversation,
  ARGV[15] the sender's copy
  Returns: as deliver-2, and {-1} no such sender
]]
--#include time
--#include doorbell
--#include bad-data
local K = {KEYS[1], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15]}
if redis.call('EXISTS', K[1]) == 0 then return {-1} end
local member = 'message:' .. ARGV[1]
local stored = redis.call('HMGET', K[8], 'sender_id', 'receiver_id', 'message', 'seen', 'timestamp')
if stored[1] then
  if stored[1] ~= ARGV[2] or stored[2] ~= ARGV[3] or stored[3] ~= ARGV[4] then return {-3} end
end
local score = redis.call('ZSCORE', K[4], member)
if score then return {0, format_micros(micros_of(score))} end
if redis.call('EXISTS', K[3]) == 0 then return {-2} end
local bad = wrong_type({[2] = 'zset', [4] = 'zset', [5] = 'zset', [6] = 'hash', [7] = 'zset', [8] = 'hash', [9] = 'zset', [10] = 'zset'}, K)
  or bad_count(K[6], ARGV[2])
if bad then return bad end
local micros = now_micros()
local last = redis.call('ZRANGE', K[4], -1, -1, 'WITHSCORES')
local previous = ''
if last[2] then
  micros = math.max(micros, micros_of(last[2]) + 1)
  previous = last[1]
end
local timestamp = format_micros(micros)
redis.call('HSET', K[8], 'message_id', ARGV[1], 'sender_id', ARGV[2], 'receiver_id', ARGV[3],
  'message', ARGV[4], 'timestamp', timestamp, 'seen', 'False')
redis.call('ZADD', K[4], timestamp, member)
redis.call('ZADD', K[5], 'GT', timestamp, ARGV[2])
redis.call('HINCRBY', K[6], ARGV[2], 1)
redis.call('ZADD', K[7], timestamp, member)
for _, key in ipairs({K[9], K[10]}) do
  local c = micros
  local clast = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if clast[2] then c = math.max(c, micros_of(clast[2]) + 1) end
  redis.call('ZADD', key, format_micros(c), member)
end
redis.call('ZADD', K[2], 'GT', timestamp, ARGV[3])
redis.call('SPUBLISH', ARGV[5], received_bell(ARGV[1], ARGV[2], ARGV[3], ARGV[4], timestamp, previous))
redis.call('SPUBLISH', ARGV[6], sent_bell(ARGV[1], ARGV[2], ARGV[3], ARGV[4], timestamp))
return {1, timestamp}
