--[[
  Failures in a row with an exponential lockout: `failures` failures within `within` ms
  lock the subject for `lock` ms; each further lockout doubles, up to `max` ms. While
  locked, failures are not counted (so a lockout cannot be made longer than its schedule
  by hammering it). The level is forgotten once the subject has been quiet for `max` ms
  after its lockout; a success deletes the key (not here: a plain DEL). Time is Redis's.

  KEYS[1] rate:<rule>:<subject>  HASH failures, since (ms of the streak's first failure),
                                 level (lockouts so far), until (ms the lockout ends)
  ARGV[1] 'fail' to count a failure; 'check' only to look
  ARGV[2] failures: how many start a lockout
  ARGV[3] within: the streak's window, in milliseconds
  ARGV[4] lock: the first lockout, in milliseconds
  ARGV[5] max: the longest lockout, in milliseconds
  Returns: 0 not locked (after this failure); otherwise the milliseconds the lockout lasts
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local until_ms = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if until_ms > now then return until_ms - now end
if ARGV[1] ~= 'fail' then return 0 end

local threshold = tonumber(ARGV[2])
local within = tonumber(ARGV[3])
local lock = tonumber(ARGV[4])
local max = tonumber(ARGV[5])
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
local since = tonumber(redis.call('HGET', KEYS[1], 'since') or '0')
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or '0')
if failures == 0 or now - since > within then
  failures = 0
  since = now
end
failures = failures + 1
if failures < threshold then
  redis.call('HSET', KEYS[1], 'failures', failures, 'since', since)
  redis.call('PEXPIRE', KEYS[1], math.max(within, level > 0 and max or 0))
  return 0
end
local length = math.min(max, lock * 2 ^ level)
redis.call('HSET', KEYS[1], 'failures', 0, 'since', now, 'level', level + 1,
  'until', tostring(now + length))
redis.call('PEXPIRE', KEYS[1], math.ceil(length + max))
return math.ceil(length)
