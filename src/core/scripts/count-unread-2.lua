--[[
  One step of reindex's unread recount on one Redis: counts the unseen messages per sender
  in at most ARGV[4] inbox entries from rank ARGV[2] up, so that no call holds Redis for
  long however big the inbox (a script blocks every other client while it runs). The
  caller adds the steps up and writes the counters with commit-unread-2, which checks that
  nothing but sends changed them meanwhile. Sends only ever append to an inbox; the entry
  below the step (ARGV[3]) must still be where the last step left it, else the walk starts
  again (another program inserted an entry, and ranks moved).

  KEYS[1] user_messages:<user>  ZSET the inbox (the seed's)
  KEYS[2] user_unread:<user>    HASH sender -> unseen count
  ARGV[1] the key prefix ('' or '<namespace>:')
  ARGV[2] the rank to start at (0 for the first step)
  ARGV[3] the member at rank ARGV[2] - 1 ('' for the first step)
  ARGV[4] how many entries this step may read
  ARGV[5] the inbox's size when the walk began ('' for the first step: now)
  Returns: {-1} the entry below the step moved (walk again); else {next, size, start size,
           {sender, unseen, ...}, {sender, entries at or above the start size, ...},
           {the counters: sender, value, ...} (first step only), the last member read}
]]
local from = tonumber(ARGV[2])
if from > 0 then
  local below = redis.call('ZRANGE', KEYS[1], from - 1, from - 1)
  if below[1] ~= ARGV[3] then return {-1} end
end
local size = redis.call('ZCARD', KEYS[1])
local start_size = tonumber(ARGV[5]) or size
local members = redis.call('ZRANGE', KEYS[1], from, from + tonumber(ARGV[4]) - 1)
local unseen, added = {}, {}
for i = 1, #members do
  -- Standalone only: the message hashes are read without being declared. A key that is
  -- not a hash (bad data) answers with an error, and counts for nothing.
  local m = redis.pcall('HMGET', ARGV[1] .. members[i], 'sender_id', 'seen')
  local sender = type(m) == 'table' and m[1]
  if sender then
    if m[2] == 'False' then unseen[sender] = (unseen[sender] or 0) + 1 end
    if from + i - 1 >= start_size then added[sender] = (added[sender] or 0) + 1 end
  end
end
local function flat(counts)
  local list = {}
  for sender, count in pairs(counts) do
    list[#list + 1] = sender
    list[#list + 1] = count
  end
  return list
end
local counters = {}
if from == 0 then counters = redis.call('HGETALL', KEYS[2]) end
return {from + #members, size, start_size, flat(unseen), flat(added), counters, members[#members] or ARGV[3]}
