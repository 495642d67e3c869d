--[[
  A token bucket: up to `burst` tokens, one more every `every` milliseconds; an event takes
  one. Time is Redis's (TIME), so that every server instance refills the same bucket at the
  same rate whatever their clocks say. A refused event takes nothing.

  KEYS[1] rate:<rule>:<subject>  HASH tokens (may be fractional), at (ms of the last take)
  ARGV[1] burst: the most tokens the bucket holds (a new bucket is full)
  ARGV[2] every: milliseconds per token
  Returns: 0 allowed (a token taken); otherwise the milliseconds until a token is there
]]
local burst = tonumber(ARGV[1])
local every = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
local at = tonumber(redis.call('HGET', KEYS[1], 'at'))
if not tokens or not at then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / every)
if tokens < 1 then return math.ceil((1 - tokens) * every) end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
-- Once full again the bucket is the same as none: let it expire then.
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) * every)))
return 0
