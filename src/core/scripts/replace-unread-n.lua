--[[
  Cluster only, for `reindex`: replaces a user's unread counters, and the sets of unseen
  messages they count, with what the caller counted from the inbox's `seen` flags (on one
  Redis count-unread-2 counts in one step), unless the inbox or the counters changed
  since the caller read them (a send, or a mark lowering a counter): then the caller
  counts again.

  KEYS[1]    user_messages:{<user>}         ZSET the inbox
  KEYS[2]    user_unread:{<user>}           HASH sender -> unseen count
  KEYS[3..n] user_unseen:{<user>}:<sender>  ZSET, one per sender section of ARGV, in order
  ARGV[1] the inbox's size when it was read
  ARGV[2] its newest member then ('' when it was empty)
  ARGV[3] n: how many sender/count pairs the counters held then
  ARGV    from 4: those n pairs; then one section per sender (every sender that held a
          counter, and every sender with unseen messages): the sender id, k, then k pairs
          of score, member (k = 0: nothing of theirs is unseen)
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
-- Fields that name no valid sender (bad data) have no section: they go with the hash.
redis.call('DEL', KEYS[2])
local at = 4 + 2 * n
for i = 3, #KEYS do
  local sender, k = ARGV[at], tonumber(ARGV[at + 1])
  redis.call('DEL', KEYS[i])
  local first, final = at + 2, at + 1 + 2 * k
  for j = first, final, 1000 do
    redis.call('ZADD', KEYS[i], unpack(ARGV, j, math.min(j + 999, final)))
  end
  if k > 0 then redis.call('HSET', KEYS[2], sender, k) end
  at = final + 1
end
return 1
