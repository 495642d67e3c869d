--[[
  One page of a sorted-set index, located by rank around a cursor member, so that pages
  never skip or repeat an entry even when many entries share a score.

  KEYS[1] the index (ZSET)
  ARGV[1] 'latest' (the newest entries), 'first' (the oldest), 'before' or 'after' the
          cursor member, or 'after-score' (the entries scored above the cursor score)
  ARGV[2] the page size
  ARGV[3] the cursor: a member for 'before' and 'after', a score for 'after-score';
          for 'before' and 'after', ARGV[4] and on: other members it may have (on a
          cluster, a conversation's cursor names one of two receivers), the first found is it
  Returns: {has_older (0/1), has_newer (0/1), member, ...} oldest first,
           or -1 when the cursor is not in the index
]]
local limit = tonumber(ARGV[2])
local size = redis.call('ZCARD', KEYS[1])
local first, last
if ARGV[1] == 'latest' then
  first, last = math.max(0, size - limit), size - 1
elseif ARGV[1] == 'first' then
  first, last = 0, math.min(size, limit) - 1
elseif ARGV[1] == 'after-score' then
  -- For a reader whose cursor entry is gone (Redis lost data): entries are scored in the
  -- order they were stored, so "after" is "scored above".
  first = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[3])
  last = math.min(size - 1, first + limit - 1)
else
  local rank
  for i = 3, #ARGV do
    rank = redis.call('ZRANK', KEYS[1], ARGV[i])
    if rank then break end
  end
  if not rank then return -1 end
  if ARGV[1] == 'after' then
    first, last = rank + 1, math.min(size - 1, rank + limit)
  else
    first, last = math.max(0, rank - limit), rank - 1
  end
end
local page = {first > 0 and 1 or 0, last < size - 1 and 1 or 0}
if last >= first then
  local members = redis.call('ZRANGE', KEYS[1], first, last)
  for i = 1, #members do page[#page + 1] = members[i] end
end
return page
