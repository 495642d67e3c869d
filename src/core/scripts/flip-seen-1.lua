--[[
  Cluster only: marks one message seen for the user who received it, if it was unseen.
  The unread counter lives in the user's slot and is lowered after (forget-unread-1).

  KEYS[1] message:{<id>}  HASH
  ARGV[1] the user id
  Returns: the sender's id when the message went from unseen to seen, else false
]]
local m = redis.call('HMGET', KEYS[1], 'receiver_id', 'recipient_id', 'sender_id', 'seen')
if (m[1] == ARGV[1] or m[2] == ARGV[1]) and m[4] == 'False' then
  redis.call('HSET', KEYS[1], 'seen', 'True')
  return m[3]
end
return false
