--[[
  Claims a username for a user, in one atomic step: of any number of clients racing for
  one name, exactly one wins. On one Redis it also writes the user hash (6 keys); on a
  cluster the hash lives in another slot and was written before (store-user-1), so a
  claimed name always names an existing user (5 keys).

  KEYS[1] usernames                HASH name as typed -> user id (the seed's)
  KEYS[2] usernames_folded         HASH folded name -> user id
  KEYS[3] user_index               ZSET user id scored by created_at
  KEYS[4] usernames_indexed        STRING how many `usernames` entries KEYS[2] and KEYS[3] account for
  KEYS[5] name_index               ZSET score 0, `<folded>\0<as typed>\0<id>`: prefix search
  KEYS[6] user:<id>                HASH of the new user (the seed's); absent on a cluster
  ARGV[1] the username as typed
  ARGV[2] the folded username (NFKC, case folded)
  ARGV[3] the new user id
  ARGV[4] the user's member of the name index (keys.ts nameIndexMember)
  ARGV[5] created_at as stored in the user hash (on a cluster; else the server time is used)
  Returns: created_at (Unix seconds, a string); -1 when the name is taken; -2 when the
           original program has added names that are not folded yet (fold them, retry)
]]
--#include time
if redis.call('HLEN', KEYS[1]) ~= tonumber(redis.call('GET', KEYS[4]) or '0') then
  return -2
end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return -1
end
local created_at = ARGV[5]
if KEYS[6] then
  created_at = format_micros(now_micros())
  redis.call('HSET', KEYS[6], 'user_id', ARGV[3], 'username', ARGV[1], 'created_at', created_at)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[3], created_at, ARGV[3])
redis.call('ZADD', KEYS[5], 0, ARGV[4])
return created_at
