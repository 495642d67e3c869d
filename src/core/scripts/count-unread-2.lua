--[[
  Recounts a user's unread counters from the `seen` flags of every message in the inbox,
  in one atomic step (a send or markSeen cannot slip in between). For `reindex`: messages
  written by other programs with seen = 'False' were never counted.

  KEYS[1] user_messages:<user>  ZSET the inbox (the seed's)
  KEYS[2] user_unread:<user>    HASH sender -> unseen count
  ARGV[1] the key prefix ('' or '<namespace>:')
  Returns: the total number of unseen messages
]]
local counts = {}
local total = 0
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for i = 1, #members do
  -- Standalone only: the message hashes are read without being declared.
  local key = ARGV[1] .. members[i]
  local m = {}
  if redis.call('TYPE', key).ok == 'hash' then m = redis.call('HMGET', key, 'sender_id', 'seen') end
  if m[1] and m[2] == 'False' then
    counts[m[1]] = (counts[m[1]] or 0) + 1
    total = total + 1
  end
end
redis.call('DEL', KEYS[2])
for sender, count in pairs(counts) do redis.call('HSET', KEYS[2], sender, count) end
return total
