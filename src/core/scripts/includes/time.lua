-- Included by scripts that write times (`--#include time`; src/redis/lua-script.ts).
-- Times as the messenger stores them: whole microseconds in Lua, "seconds.micros" (six
-- decimals, the seed's Unix seconds) in Redis; src/core/records.ts reads them back.
local function micros_of(score) return math.floor(tonumber(score) * 1000000 + 0.5) end
local function format_micros(micros)
  return string.format('%.0f.%06d', math.floor(micros / 1000000), micros % 1000000)
end
local function now_micros()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000000 + tonumber(now[2])
end
