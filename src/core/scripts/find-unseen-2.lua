--[[
  One step of listUnreadMessages on one Redis: walks the inbox down from rank ARGV[2] and
  returns the unseen messages it finds, reading at most ARGV[4] entries, so that no call
  holds Redis for long however far down the unseen messages are (the caller calls again
  from where this one stopped). Sends only append to an inbox, so a rank below the newest
  still names the same entry in the next step; the entry the last step read last
  (ARGV[5]) must still be just above ARGV[2], else ranks moved (an entry below was removed
  or inserted) and the walk may have skipped or read twice some entries.

  A first step that does not find every message wanted also returns what the counters
  and the newest entry were when the walk began: should the walk reach the oldest entry
  with fewer unseen messages than a counter says, the caller corrects it with
  repair-unread-2, which needs them to tell its own corrections from sends and marks.

  KEYS[1] user_messages:<user>  ZSET the inbox (the seed's)
  KEYS[2] user_unread:<user>    HASH sender -> unseen count
  ARGV[1] the key prefix ('' or '<namespace>:')
  ARGV[2] the rank to go on from, '' for the first step (the newest entry)
  ARGV[3] how many unseen messages are wanted
  ARGV[4] how many entries this step may read
  ARGV[5] the member the last step read last ('' for the first step)
  Returns: {next, last, moved, newest, counters, member, ...}: the rank to go on from (-1:
           the oldest entry was read), the member this step read last, 1 if ranks moved
           since the last step (else 0), then on a first step that did not find all it
           wanted the newest entry's score ('-inf': the inbox is empty) and the counters
           ({sender, count, ...}), else '' and {}; then the unseen members found, newest
           first
]]
local first = ARGV[2] == ''
local high = first and redis.call('ZCARD', KEYS[1]) - 1 or tonumber(ARGV[2])
local moved = 0
if not first then
  local above = redis.call('ZRANGE', KEYS[1], high + 1, high + 1)
  if above[1] ~= ARGV[5] then moved = 1 end
end
local newest = ''
if first then
  local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  newest = top[2] or '-inf'
end
local wanted = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local found = {}
local last = ARGV[5]
while high >= 0 and budget > 0 and #found < wanted do
  local low = math.max(0, high - math.min(99, budget - 1))
  local members = redis.call('ZRANGE', KEYS[1], low, high)
  budget = budget - #members
  for i = #members, 1, -1 do
    high = low + i - 2
    last = members[i]
    -- Standalone only: the hashes are read without being declared; not a hash: skipped.
    local seen = redis.pcall('HGET', ARGV[1] .. members[i], 'seen')
    if seen == 'False' then
      found[#found + 1] = members[i]
      if #found == wanted then break end
    end
  end
end
local counters = {}
if first and #found < wanted then
  counters = redis.call('HGETALL', KEYS[2])
else
  newest = ''
end
return {high < 0 and -1 or high, last, moved, newest, counters, unpack(found)}
