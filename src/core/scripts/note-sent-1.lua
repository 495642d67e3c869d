--[[
  Cluster only, step 5 of a send, in the sender's slot: raises the receiver in the
  sender's conversations and, the first time, tells the sender's channel what they sent
  (their other devices show it). One request instead of ZADD and SPUBLISH. Run again it
  changes nothing (ZADD GT), and rings nothing when given no channel.

  KEYS[1] user_conversations:{<sender>}  ZSET
  ARGV[1] receiver id
  ARGV[2] the message's timestamp ("seconds.micros")
  ARGV[3] the sender's doorbell channel (sharded), or '' not to ring it
  ARGV[4] message id
  ARGV[5] sender id
  ARGV[6] text
  Returns: 1
]]
--#include doorbell

redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
if ARGV[3] ~= '' then
  redis.call('SPUBLISH', ARGV[3], sent_bell(ARGV[4], ARGV[5], ARGV[1], ARGV[6], ARGV[2]))
end
return 1
