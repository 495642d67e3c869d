--[[
  `messenger migrate` only (src/core/migrate-cluster.ts): renames members of a sorted set
  in place, each keeping its score, all at once: a reader finds every entry once, under
  its old name or its new one, never both or neither. A member already renamed, or not
  there, is left as it is, so running it again changes nothing.

  KEYS[1] the sorted set (an inbox, a set of unseen messages)
  ARGV    pairs: old member, new member
  Returns: how many it renamed now
]]
local renamed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    redis.call('ZADD', KEYS[1], score, ARGV[i + 1])
    redis.call('ZREM', KEYS[1], ARGV[i])
    renamed = renamed + 1
  end
end
return renamed
