--[[
  Indexes a batch of names from the `usernames` hash that the original program wrote
  (it writes only `usernames` and user:<id>), or that were stored before the name index
  existed: their folded form, their place in the user index and in the name index. Names
  already indexed are left as they are. The folding itself (NFKC, case folding) is done
  by the caller: Lua cannot.

  KEYS[1] usernames_folded  HASH folded name -> user id
  KEYS[2] user_index        ZSET user id scored by created_at
  KEYS[3] name_index        ZSET score 0, `<folded>\0<as typed>\0<id>`: prefix search
  ARGV    quadruples: folded name, user id, created_at (Unix seconds, or '' if unknown),
          the name index member (keys.ts nameIndexMember)
  Returns: {added, conflict...}: how many folded names were added, then the position
           (1-based, in quadruples) of every quadruple whose folded name another user holds
]]
local result = {0}
for i = 1, #ARGV, 4 do
  local folded, id = ARGV[i], ARGV[i + 1]
  if redis.call('HSETNX', KEYS[1], folded, id) == 1 then
    result[1] = result[1] + 1
  elseif redis.call('HGET', KEYS[1], folded) ~= id then
    result[#result + 1] = (i + 3) / 4
  end
  redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[i + 2]) or 0, id)
  redis.call('ZADD', KEYS[3], 0, ARGV[i + 3])
end
return result
