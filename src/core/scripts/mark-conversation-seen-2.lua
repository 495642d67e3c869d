--[[
  Marks seen the messages the other user sent in a conversation, one step of a walk from
  the newest message back: at most ARGV[4] entries a call, so that no call holds Redis
  for long however long the conversation is (the caller calls again from where this one
  stopped). It stops as soon as the unread counter says nothing unseen is left, so the
  usual cost is the few newest messages, not the whole conversation. Messages are only
  ever appended to a conversation, so the rank a step stopped at still names the same
  entry in the next step.

  KEYS[1] conversation:<low>:<high>  ZSET
  KEYS[2] user_unread:<user>         HASH sender -> unseen count
  ARGV[1] the other user's id (the sender whose messages are marked)
  ARGV[2] the key prefix ('' or '<namespace>:')
  ARGV[3] the rank to go on from, '' for the first step (from the newest)
  ARGV[4] how many entries this step may read
  ARGV[5] 'all' when an earlier step found the counter unusable (walk to the end; the
          counter was removed then, so flips of older messages are not subtracted)
  Returns: {marked, next}: how many messages this step turned from unseen to seen, and
           the rank to go on from (-1: done); next is -2 when the counter was not a
           number: go on with ARGV[5] = 'all'
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
local budget = tonumber(ARGV[4])
local marked = 0
while left > 0 and high >= 0 and budget > 0 do
  local low = math.max(0, high - math.min(99, budget - 1))
  local members = redis.call('ZRANGE', KEYS[1], low, high)
  budget = budget - #members
  for i = #members, 1, -1 do
    high = low + i - 2 -- the entry after this one, should this one be the last
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
if not (unusable or walk_all) then
  if done and first_step then
    -- The whole walk was this one atomic step: either every unseen message was found or
    -- the whole conversation was walked; both ways nothing from this sender is unseen.
    redis.call('HDEL', KEYS[2], ARGV[1])
  elseif marked > 0 and redis.call('HINCRBY', KEYS[2], ARGV[1], -marked) <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
end
if unusable and not done then return {marked, -2, high} end
return {marked, done and -1 or high}
