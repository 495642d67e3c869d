-- Included by the scripts that take from a token bucket (`--#include token-bucket`:
-- rate-bucket-1.lua, and the sends that check the sender's bucket first).
-- Up to `burst` tokens, one more every `every` milliseconds; an event takes one. Time is
-- Redis's (TIME), so that every server instance refills the same bucket at the same rate
-- whatever their clocks say. A refused event takes nothing.
-- Returns 0 when a token was taken; otherwise the milliseconds until one is there.
local function take_token(key, burst, every)
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local tokens = tonumber(redis.call('HGET', key, 'tokens'))
  local at = tonumber(redis.call('HGET', key, 'at'))
  if not tokens or not at then
    tokens = burst
    at = now
  end
  tokens = math.min(burst, tokens + math.max(0, now - at) / every)
  if tokens < 1 then return math.ceil((1 - tokens) * every) end
  tokens = tokens - 1
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  -- Once full again the bucket is the same as none: let it expire then.
  redis.call('PEXPIRE', key, math.max(1, math.ceil((burst - tokens) * every)))
  return 0
end
