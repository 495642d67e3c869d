--[[
  Adds to the user index the users that the original program created (it writes only
  the usernames hash and user:<id>), so that they are listed with no migration step.
  Costs two O(1) reads when nothing is missing, the usual case.

  KEYS[1] usernames   HASH name -> user id (the seed's)
  KEYS[2] user_index  ZSET user id scored by created_at
  ARGV[1] the key prefix ('' or '<namespace>:')
  Returns: how many users were added to the index
]]
if redis.call('HLEN', KEYS[1]) <= redis.call('ZCARD', KEYS[2]) then return 0 end
local added = 0
local ids = redis.call('HVALS', KEYS[1])
for i = 1, #ids do
  if not redis.call('ZSCORE', KEYS[2], ids[i]) then
    -- Standalone only: user:<id> is read without being declared, as the index names it.
    local created_at = redis.call('HGET', ARGV[1] .. 'user:' .. ids[i], 'created_at')
    redis.call('ZADD', KEYS[2], tonumber(created_at) or 0, ids[i])
    added = added + 1
  end
end
return added
