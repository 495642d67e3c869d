--[[
  Slides a session's idle timeout: records that it was used now and expires it after the
  idle timeout from now, but never after its absolute end.

  KEYS[1] session:<user>:<token hash>  HASH
  ARGV[1] now, in milliseconds
  ARGV[2] the idle timeout, in milliseconds
  Returns: 1 touched; 0 the session is gone
]]
local expires_at = tonumber(redis.call('HGET', KEYS[1], 'expires_at'))
if not expires_at then return 0 end
local now = tonumber(ARGV[1])
if expires_at <= now then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), expires_at - now))
return 1
