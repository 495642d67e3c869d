--[[
  Cluster only, for `reindex`: replaces a user's unread counters with counts the caller
  made from the inbox's `seen` flags (on one Redis count-unread-2 counts in one step),
  unless the inbox or the counters changed since the caller read them (a send, or a
  markSeen lowering a counter): then the caller counts again.

  KEYS[1] user_messages:{<user>}  ZSET the inbox
  KEYS[2] user_unread:{<user>}    HASH sender -> unseen count
  ARGV[1] the inbox's size when it was read
  ARGV[2] its newest member then ('' when it was empty)
  ARGV[3] n: how many sender/count pairs the counters held then
  ARGV    from 4: those n pairs, then the new pairs of sender id, unseen count
  Returns: 1 replaced; 0 something changed, nothing written
]]
local last = redis.call('ZRANGE', KEYS[1], -1, -1)
if redis.call('ZCARD', KEYS[1]) ~= tonumber(ARGV[1]) or (last[1] or '') ~= ARGV[2] then
  return 0
end
local n = tonumber(ARGV[3])
if redis.call('HLEN', KEYS[2]) ~= n then return 0 end
for i = 4, 3 + 2 * n, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('DEL', KEYS[2])
for i = 4 + 2 * n, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
