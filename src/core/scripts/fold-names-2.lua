--[[
  Records folded names for names in the `usernames` hash that have none (the original
  program writes only `usernames`), then notes how many names are now accounted for.
  The folding itself (NFKC, case folding) is done by the caller: Lua cannot.

  KEYS[1] usernames_folded         HASH folded name -> user id
  KEYS[2] usernames_folded_synced  STRING how many `usernames` entries KEYS[1] accounts for
  ARGV[1] how many distinct names of `usernames` the caller read
  ARGV[2..] pairs: folded name, user id
  Returns: {added, conflict...}: how many folded names were added, then the index (1-based,
           in pairs) of every pair whose folded name another user already holds
]]
local added = 0
local result = {0}
for i = 2, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    added = added + 1
  elseif redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then
    result[#result + 1] = i / 2
  end
end
result[1] = added
redis.call('SET', KEYS[2], ARGV[1])
return result
