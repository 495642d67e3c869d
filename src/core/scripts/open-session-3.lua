--[[
  Opens a signed-in session for a user who exists, forgets index entries of sessions that
  have expired (at most 20 of the oldest, so the work per call stays bounded), and ends
  the oldest sessions past ARGV[8] (a user cannot pile up sessions without bound, nor
  hide old ones behind a hundred new ones).
  All three keys share the user's slot.

  KEYS[1] user:<user>
  KEYS[2] session:<user>:<token hash>  HASH
  KEYS[3] user_sessions:<user>         ZSET token hash scored by created_at
  ARGV[1] the token hash (hex)
  ARGV[2] now, in milliseconds
  ARGV[3] the idle timeout, in milliseconds
  ARGV[4] the absolute timeout, in milliseconds
  ARGV[5] the user agent (may be '')
  ARGV[6] the CSRF token of the session
  ARGV[7] the prefix of session keys: KEYS[2] without the token hash
  ARGV[8] the most sessions a user keeps
  Returns: {1, token hashes of the sessions it ended...} opened; -1 no such user
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local now = tonumber(ARGV[2])
local expires_at = now + tonumber(ARGV[4])
redis.call('HSET', KEYS[2], 'created_at', ARGV[2], 'last_seen', ARGV[2],
  'expires_at', tostring(expires_at), 'user_agent', ARGV[5], 'csrf', ARGV[6])
redis.call('PEXPIRE', KEYS[2], math.min(tonumber(ARGV[3]), tonumber(ARGV[4])))
for _, hash in ipairs(redis.call('ZRANGE', KEYS[3], 0, 19)) do
  if redis.call('EXISTS', ARGV[7] .. hash) == 0 then redis.call('ZREM', KEYS[3], hash) end
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
local opened = {1}
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[8])
if over > 0 then
  for _, hash in ipairs(redis.call('ZRANGE', KEYS[3], 0, over - 1)) do
    redis.call('DEL', ARGV[7] .. hash)
    -- The caller tells these sessions' live connections that they ended.
    opened[#opened + 1] = hash
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, over - 1)
end
return opened
