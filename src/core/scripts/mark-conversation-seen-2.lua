--[[
  Marks seen the messages the other user sent in a conversation, one step of a walk from
  the newest message back: at most ARGV[4] entries a call, so that no call holds Redis
  for long however long the conversation is (the caller calls again from where this one
  stopped). It stops as soon as the unread counter says nothing unseen is left, so the
  usual cost is the few newest messages, not the whole conversation. Messages are only
  ever appended to a conversation, so the rank a step stopped at still names the same
  entry in the next step (the entry the last step read last, ARGV[6], must still be just
  above it, else ranks moved).

  A walk that reaches the oldest entry with the counter still above zero found it too
  high (or messages were sent meanwhile): the last step sets it to the unseen messages
  sent since the walk began (scored past the newest entry then, at most 1,000), but only
  if the counter holds what it held then, less what the walk marked, plus those sends:
  another mark meanwhile leaves it as it is, too high and never too low.

  KEYS[1] conversation:<low>:<high>  ZSET
  KEYS[2] user_unread:<user>         HASH sender -> unseen count
  ARGV[1] the other user's id (the sender whose messages are marked)
  ARGV[2] the key prefix ('' or '<namespace>:')
  ARGV[3] the rank to go on from, '' for the first step (from the newest)
  ARGV[4] how many entries this step may read
  ARGV[5] 'all' when an earlier step found the counter unusable (walk to the end; the
          counter was removed then, so flips of older messages are not subtracted)
  ARGV[6] the member the last step read last ('' for the first step)
  ARGV[7] the counter when the walk began, as the first step returned it ('' for the
          first step; 'none': correct nothing, ranks moved)
  ARGV[8] the newest entry's score when the walk began, as the first step returned it
  ARGV[9] how many messages the earlier steps marked
  Returns: {marked, next, after, last, moved, counter, newest}: how many messages this
           step turned from unseen to seen, the rank to go on from (-1: done; -2: the
           counter was not a number, go on from `after` with ARGV[5] = 'all'), the
           member this step read last, 1 if ranks moved since the last step (else 0),
           and from the first step the counter and the newest score ('' otherwise)
]]
local first_step = ARGV[3] == ''
local walk_all = ARGV[5] == 'all'
local stored = redis.call('HGET', KEYS[2], ARGV[1])
local left = tonumber(stored or '0')
local unusable = left == nil
if unusable or walk_all then
  -- A counter that is not a number (bad data) says nothing: walk it all; it goes now.
  if unusable then redis.call('HDEL', KEYS[2], ARGV[1]) end
  left = math.huge
end
local high = first_step and redis.call('ZCARD', KEYS[1]) - 1 or tonumber(ARGV[3])
local moved = 0
if not first_step and redis.call('ZRANGE', KEYS[1], high + 1, high + 1)[1] ~= ARGV[6] then
  moved = 1
end
local counter, newest = '', ''
if first_step and not unusable then
  counter = stored or '0'
  newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2] or '-inf'
end
local budget = tonumber(ARGV[4])
local marked = 0
local last = ARGV[6]
while left > 0 and high >= 0 and budget > 0 do
  local low = math.max(0, high - math.min(99, budget - 1))
  local members = redis.call('ZRANGE', KEYS[1], low, high)
  budget = budget - #members
  for i = #members, 1, -1 do
    high = low + i - 2 -- the entry after this one, should this one be the last
    last = members[i]
    -- Standalone only: the message hashes are read without being declared. A key that is
    -- not a hash (bad data) answers with an error, and is walked past.
    local key = ARGV[2] .. members[i]
    local m = redis.pcall('HMGET', key, 'sender_id', 'seen')
    if type(m) == 'table' and m[1] == ARGV[1] and m[2] == 'False' then
      redis.call('HSET', key, 'seen', 'True')
      marked = marked + 1
      left = left - 1
      if left == 0 then break end
    end
  end
end
local done = left == 0 or high < 0

-- The walk reached the oldest entry with the counter above zero: what is unseen now is
-- what was sent since it began, if nothing but sends changed the counter meanwhile.
local function correct(now)
  if first_step or moved == 1 or ARGV[7] == 'none' or ARGV[7] == '' then return end
  local since = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[8], '+inf', 'BYSCORE', 'LIMIT', 0, 1001)
  if #since > 1000 then return end
  local sends, unseen = 0, 0
  for i = 1, #since do
    local m = redis.pcall('HMGET', ARGV[2] .. since[i], 'sender_id', 'seen')
    if type(m) == 'table' and m[1] == ARGV[1] then
      sends = sends + 1
      if m[2] == 'False' then unseen = unseen + 1 end
    end
  end
  if now ~= tonumber(ARGV[7]) - tonumber(ARGV[9]) - marked + sends then return end
  if unseen > 0 then
    redis.call('HSET', KEYS[2], ARGV[1], unseen)
  else
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
end

if not (unusable or walk_all) then
  if done and first_step then
    -- The whole walk was this one atomic step: either every unseen message was found or
    -- the whole conversation was walked; both ways nothing from this sender is unseen.
    redis.call('HDEL', KEYS[2], ARGV[1])
  else
    local now = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') or 0
    if marked > 0 then
      now = redis.call('HINCRBY', KEYS[2], ARGV[1], -marked)
      if now <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
    end
    if high < 0 and left > 0 and now > 0 then correct(now) end
  end
end
if unusable and not done then return {marked, -2, high, last, moved, counter, newest} end
return {marked, done and -1 or high, -1, last, moved, counter, newest}
