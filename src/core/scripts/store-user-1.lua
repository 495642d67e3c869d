--[[
  Cluster only, the first step of creating a user: writes the user hash stamped with the
  server's time. Nothing names the new id yet, so until create-user-n claims the name the
  hash is invisible (and if that step never runs, it stays so).

  KEYS[1] user:{<id>}  HASH (the seed's fields)
  ARGV[1] the user id
  ARGV[2] the username as typed
  Returns: created_at (Unix seconds, a string)
]]
--#include time
local created_at = format_micros(now_micros())
redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'username', ARGV[2], 'created_at', created_at)
return created_at
