--[[
  A token bucket (includes/token-bucket.lua): an event takes one token, a refused event
  takes nothing.

  KEYS[1] rate:<rule>:<subject>  HASH tokens (may be fractional), at (ms of the last take)
  ARGV[1] burst: the most tokens the bucket holds (a new bucket is full)
  ARGV[2] every: milliseconds per token
  Returns: 0 allowed (a token taken); otherwise the milliseconds until a token is there
]]
--#include token-bucket

return take_token(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
