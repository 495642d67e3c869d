--[[
  Cluster only: marks one message seen for the user who received it, if it was unseen.
  The unread counter lives in the user's slot and is lowered after (forget-unread-n),
  whether the flag flipped now or in an earlier call cut short before that step.

  KEYS[1] message:{<receiver>}:<id>  HASH
  ARGV[1] the user id
  Returns: {1, sender} flipped now; {0, sender} seen before (or no `seen` field: the
           original program's); {-1} not the user's message, not a hash, or gone
]]
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {-1} end
local m = redis.call('HMGET', KEYS[1], 'receiver_id', 'recipient_id', 'sender_id', 'seen')
if (m[1] ~= ARGV[1] and m[2] ~= ARGV[1]) or not m[3] then return {-1} end
if m[4] == 'False' then
  redis.call('HSET', KEYS[1], 'seen', 'True')
  return {1, m[3]}
end
return {0, m[3]}
