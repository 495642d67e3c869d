--[[
  The last step of reindex's unread recount on one Redis (count-unread-2 did the counting,
  in steps): writes the counters the walk counted, unless something other than a send
  changed them while it walked (a mark, which may have flipped an entry the walk had
  already counted): then the caller walks again. Sends during the walk are counted: each
  appended an entry the walk read, and raised its sender's counter by one.

  KEYS[1] user_messages:<user>  ZSET the inbox (the seed's)
  KEYS[2] user_unread:<user>    HASH sender -> unseen count
  ARGV[1] the inbox's size the walk reached (every entry below it was counted)
  ARGV[2] n: how many counters are expected
  ARGV    from 3: n pairs (sender, what the counter holds if only sends changed it), then
          pairs (sender, the unseen count to write)
  Returns: 1 written; 0 a counter changed otherwise (walk again); -1 the inbox grew since
           (walk on from ARGV[1] first)
]]
if redis.call('ZCARD', KEYS[1]) ~= tonumber(ARGV[1]) then return -1 end
local n = tonumber(ARGV[2])
if redis.call('HLEN', KEYS[2]) ~= n then return 0 end
for i = 3, 2 + 2 * n, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('DEL', KEYS[2])
for i = 3 + 2 * n, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > 0 then redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
return 1
