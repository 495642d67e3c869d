--[[
  Indexes a batch of names from the `usernames` hash that the original program wrote
  (it writes only `usernames` and user:<id>): their folded form, and their place in the
  user index. Names already indexed are left as they are. The folding itself (NFKC, case
  folding) is done by the caller: Lua cannot.

  KEYS[1] usernames_folded  HASH folded name -> user id
  KEYS[2] user_index        ZSET user id scored by created_at
  ARGV    triples: folded name, user id, created_at (Unix seconds, or '' if unknown)
  Returns: {added, conflict...}: how many folded names were added, then the position
           (1-based, in triples) of every triple whose folded name another user holds
]]
local result = {0}
for i = 1, #ARGV, 3 do
  local folded, id = ARGV[i], ARGV[i + 1]
  if redis.call('HSETNX', KEYS[1], folded, id) == 1 then
    result[1] = result[1] + 1
  elseif redis.call('HGET', KEYS[1], folded) ~= id then
    result[#result + 1] = (i + 2) / 3
  end
  redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[i + 2]) or 0, id)
end
return result
