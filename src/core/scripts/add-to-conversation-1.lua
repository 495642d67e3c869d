--[[
  Cluster only, step 4 of a send, in the conversation's slot: puts the message in the
  conversation at its inbox score, raised past the conversation's newest entry. The two
  directions of a conversation are scored by two inboxes (two slots, maybe two clocks), and
  this step runs after delivery: without the raise a message could land before an entry
  that a reader paging forwards has already passed, and never be seen by that reader.
  Run again with the same message it changes nothing.

  KEYS[1] conversation:{<low>:<high>}  ZSET
  ARGV[1] the member (message:<id>)
  ARGV[2] its score in the receiver's inbox ("seconds.micros")
  Returns: the score it has in the conversation, as "seconds.micros"
]]
--#include time

local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score then return format_micros(micros_of(score)) end
local micros = micros_of(ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then micros = math.max(micros, micros_of(last[2]) + 1) end
local timestamp = format_micros(micros)
redis.call('ZADD', KEYS[1], timestamp, ARGV[1])
return timestamp
