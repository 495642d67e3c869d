--[[
  One step of listUnreadMessages on one Redis: walks the inbox down from rank ARGV[2] and
  returns the unseen messages it finds, reading at most ARGV[4] entries, so that no call
  holds Redis for long however far down the unseen messages are (the caller calls again
  from where this one stopped). Sends only append to an inbox, so a rank below the newest
  still names the same entry in the next step.

  KEYS[1] user_messages:<user>  ZSET the inbox (the seed's)
  ARGV[1] the key prefix ('' or '<namespace>:')
  ARGV[2] the rank to go on from, '' for the first step (the newest entry)
  ARGV[3] how many unseen messages are wanted
  ARGV[4] how many entries this step may read
  Returns: {next, member, ...}: the rank to go on from (-1: the oldest entry was read) and
           the unseen members found, newest first
]]
local high = ARGV[2] == '' and redis.call('ZCARD', KEYS[1]) - 1 or tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local found = {0}
while high >= 0 and budget > 0 and #found - 1 < wanted do
  local low = math.max(0, high - math.min(99, budget - 1))
  local members = redis.call('ZRANGE', KEYS[1], low, high)
  budget = budget - #members
  for i = #members, 1, -1 do
    high = low + i - 2
    -- Standalone only: the hashes are read without being declared; not a hash: skipped.
    local seen = redis.pcall('HGET', ARGV[1] .. members[i], 'seen')
    if seen == 'False' then
      found[#found + 1] = members[i]
      if #found - 1 == wanted then break end
    end
  end
end
found[1] = high < 0 and -1 or high
return found
