--[[
  Creates a user unless the name is taken, in one atomic step: of any number of clients
  racing for one name, exactly one wins.

  KEYS[1] usernames                HASH name as typed -> user id (the seed's)
  KEYS[2] usernames_folded         HASH folded name -> user id
  KEYS[3] user_index               ZSET user id scored by created_at
  KEYS[4] user:<id>                HASH of the new user (the seed's)
  KEYS[5] usernames_indexed        STRING how many `usernames` entries KEYS[2] and KEYS[3] account for
  ARGV[1] the username as typed
  ARGV[2] the folded username (NFKC, case folded)
  ARGV[3] the new user id
  Returns: created_at (Unix seconds, a string); -1 when the name is taken; -2 when the
           original program has added names that are not folded yet (fold them, retry)
]]
if redis.call('HLEN', KEYS[1]) ~= tonumber(redis.call('GET', KEYS[5]) or '0') then
  return -2
end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return -1
end
local now = redis.call('TIME')
local created_at = now[1] .. '.' .. string.format('%06d', tonumber(now[2]))
redis.call('HSET', KEYS[4], 'user_id', ARGV[3], 'username', ARGV[1], 'created_at', created_at)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('INCR', KEYS[5])
redis.call('ZADD', KEYS[3], created_at, ARGV[3])
return created_at
