--[[
  Marks seen every message the other user sent in a conversation. Walks from the newest
  message back, and stops as soon as the unread counter says nothing unseen is left, so
  the usual cost is the few newest messages, not the whole conversation.

  KEYS[1] conversation:<low>:<high>  ZSET
  KEYS[2] user_unread:<user>         HASH sender -> unseen count
  ARGV[1] the other user's id (the sender whose messages are marked)
  ARGV[2] the key prefix ('' or '<namespace>:')
  Returns: how many messages went from unseen to seen
]]
-- A counter that is not a number (bad data) says nothing: walk it all, then it is removed.
local left = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') or math.huge
local marked = 0
local high = redis.call('ZCARD', KEYS[1]) - 1
while left > 0 and high >= 0 do
  local low = math.max(0, high - 99)
  local members = redis.call('ZRANGE', KEYS[1], low, high)
  for i = #members, 1, -1 do
    -- Standalone only: the message hashes are read without being declared.
    local key = ARGV[2] .. members[i]
    local m = {}
    if redis.call('TYPE', key).ok == 'hash' then m = redis.call('HMGET', key, 'sender_id', 'seen') end
    if m[1] == ARGV[1] and m[2] == 'False' then
      redis.call('HSET', key, 'seen', 'True')
      marked = marked + 1
      left = left - 1
      if left == 0 then break end
    end
  end
  high = low - 1
end
-- Either every unseen message was found, or the whole conversation was walked:
-- both ways, nothing from this sender is unseen any more.
redis.call('HDEL', KEYS[2], ARGV[1])
return marked
