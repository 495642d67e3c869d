--[[
  Cluster only, for `reindex`: replaces a user's unread counters with counts the caller
  made from the inbox's `seen` flags (on one Redis count-unread-2 counts in one step),
  unless the inbox changed since it was read: then the caller counts again.

  KEYS[1] user_messages:{<user>}  ZSET the inbox
  KEYS[2] user_unread:{<user>}    HASH sender -> unseen count
  ARGV[1] the inbox's size when it was read
  ARGV[2] its newest member then ('' when it was empty)
  ARGV    from 3: pairs of sender id, unseen count
  Returns: 1 replaced; 0 the inbox changed, nothing written
]]
local last = redis.call('ZRANGE', KEYS[1], -1, -1)
if redis.call('ZCARD', KEYS[1]) ~= tonumber(ARGV[1]) or (last[1] or '') ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
