--[[
  Cluster only: lowers a user's unread counters after messages were marked seen, never
  below zero (a counter at zero is removed, as on one Redis).

  KEYS[1] user_unread:{<user>}  HASH sender -> unseen count
  ARGV    pairs: sender id, how many of their messages were marked seen
  Returns: nothing
]]
for i = 1, #ARGV, 2 do
  if redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return 0
