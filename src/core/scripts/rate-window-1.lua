--[[
  A fixed-window counter: counts one event (unless told only to look) and says whether the
  window still has room. A refused event is not counted, so that hammering a closed window
  does not keep it closed. Redis's own clock (PTTL) times the window, so every server
  instance agrees whatever their clocks say.

  KEYS[1] rate:<rule>:<subject>  STRING the events counted in the current window
  ARGV[1] the events allowed per window
  ARGV[2] the window, in milliseconds
  ARGV[3] 1 to count this event; 0 to look only (is there room?)
  Returns: 0 allowed (and counted); otherwise the milliseconds until the window ends
]]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= limit then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then return left end
  -- A counter without an expiry (it cannot happen, but must not block forever).
  redis.call('PEXPIRE', KEYS[1], window)
  return window
end
if ARGV[3] == '1' then
  if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], window) end
end
return 0
