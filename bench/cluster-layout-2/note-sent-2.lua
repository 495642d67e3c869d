--[[
  A PROTOTYPE of cluster layout 2 (bench/cluster-layout-2.ts). In the sender's slot, after
  delivery: the sender's own copy of the conversation (raised past its newest entry), the
  sender's recency and their channel told what they sent. Layout 1's add-to-conversation-1
  and note-sent-1, on two masters, in one script.

  KEYS[1] user_conversations:{<sender>}   KEYS[2] conversation:{<sender>}:<receiver>
  ARGV[1] receiver id, ARGV[2] timestamp, ARGV[3] the sender's channel or '',
  ARGV[4] message id, ARGV[5] sender id, ARGV[6] text
  Returns: 1
]]
--#include time
--#include doorbell
local member = 'message:' .. ARGV[4]
if not redis.call('ZSCORE', KEYS[2], member) then
  local micros = micros_of(ARGV[2])
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if last[2] then micros = math.max(micros, micros_of(last[2]) + 1) end
  redis.call('ZADD', KEYS[2], format_micros(micros), member)
end
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
if ARGV[3] ~= '' then
  redis.call('SPUBLISH', ARGV[3], sent_bell(ARGV[4], ARGV[5], ARGV[1], ARGV[6], ARGV[2]))
end
return 1
