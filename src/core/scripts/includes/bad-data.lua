-- Included by the send scripts (`--#include bad-data`; src/redis/lua-script.ts). A
-- script's writes are not undone when a later one fails on a key of the wrong type (bad
-- data another program wrote): a send checks first, so that a refused send writes
-- nothing. Each returns nil when all is well, else the reply {-4, key, problem}
-- (Refusal.BadData in src/errors.ts).

-- `wanted`: index in `keys` (KEYS unless given) -> the type the key must have if it
-- exists ('zset' or 'hash'). `types`, if given: the keys' types, read already, by index.
local function wrong_type(wanted, keys, types)
  keys = keys or KEYS
  -- In the order of the indexes (`pairs` has none): the same bad key is named first
  -- whichever script finds it.
  local order = {}
  for i in pairs(wanted) do order[#order + 1] = i end
  table.sort(order)
  for _, i in ipairs(order) do
    local kind = wanted[i]
    local found = types and types[i] or redis.call('TYPE', keys[i]).ok
    if found ~= 'none' and found ~= kind then
      return {-4, keys[i], 'is a ' .. found .. ', not a ' .. (kind == 'zset' and 'sorted set' or kind)}
    end
  end
end

-- HINCRBY fails on a count that is not a whole number.
local function bad_count(key, field)
  local count = redis.call('HGET', key, field)
  if count and not string.match(count, '^%-?%d+$') then
    return {-4, key, 'holds a count for ' .. field .. ' that is not a whole number'}
  end
end
