--[[
  Cluster only, for reindex (a send cut short after delivery): puts the message in a
  user's copy of the conversation at its inbox score, raised past the copy's newest entry,
  as a send's own steps do (includes/send-steps.lua, add_to_copy): the copy holds both
  directions, scored by two slots (maybe two clocks), and without the raise a message could
  land before an entry a reader paging forwards has already passed. Run again with the
  same message it changes nothing.

  KEYS[1] conversation:{<user>}:<other>  ZSET
  ARGV[1] the member (message:{<receiver>}:<id>)
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
