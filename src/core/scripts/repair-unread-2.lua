--[[
  One Redis: after listUnreadMessages walked the whole inbox (find-unseen-2) and found
  fewer unseen messages from a sender than its counter said when the walk began, sets the
  counter to what the walk found, plus the messages sent since, so that the next listing
  need not walk the inbox again. Only if nothing but sends changed the counter meanwhile:
  a send appends an entry scored past the newest and raises its counter by one; a mark
  lowers it (from at least 1: the counter was above what the walk found), and a flip the
  walk may have read before it is then not known, so that counter is left as it is (the
  next full walk corrects it). Reads at most 1,000 entries sent since; more: corrects
  nothing.

  KEYS[1] user_messages:<user>  ZSET the inbox (the seed's)
  KEYS[2] user_unread:<user>    HASH sender -> unseen count
  ARGV[1] the key prefix ('' or '<namespace>:')
  ARGV[2] the newest entry's score when the walk began ('-inf': the inbox was empty)
  ARGV    from 3: triples (sender, the counter when the walk began, unseen found)
  Returns: how many counters it corrected
]]
local since = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[2], '+inf', 'BYSCORE', 'LIMIT', 0, 1001)
if #since > 1000 then return 0 end
local sent = {}
for i = 1, #since do
  local sender = redis.pcall('HGET', ARGV[1] .. since[i], 'sender_id')
  if type(sender) == 'string' then sent[sender] = (sent[sender] or 0) + 1 end
end
local corrected = 0
for i = 3, #ARGV, 3 do
  local sender, before, found = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local now = tonumber(redis.call('HGET', KEYS[2], sender) or '0')
  local sends = sent[sender] or 0
  if before and found and found < before and now == before + sends then
    if found + sends > 0 then
      redis.call('HSET', KEYS[2], sender, found + sends)
    else
      redis.call('HDEL', KEYS[2], sender)
    end
    corrected = corrected + 1
  end
end
return corrected
