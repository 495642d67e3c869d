--[[
  Marks messages seen for the user who received them, keeping the unread counters in
  step with the seen flags. Messages the user did not receive are left alone, and so is
  a key that is not a hash (bad data).

  KEYS[1]    user_unread:<user>  HASH sender -> unseen count
  KEYS[2..n] message:<id>        HASH (the seed's), one per message
  ARGV[1]    the user id
  Returns: how many messages went from unseen to seen
]]
local marked = 0
for i = 2, #KEYS do
  local m = {}
  if redis.call('TYPE', KEYS[i]).ok == 'hash' then
    m = redis.call('HMGET', KEYS[i], 'receiver_id', 'recipient_id', 'sender_id', 'seen')
  end
  if (m[1] == ARGV[1] or m[2] == ARGV[1]) and m[3] and m[4] == 'False' then
    redis.call('HSET', KEYS[i], 'seen', 'True')
    if redis.call('HINCRBY', KEYS[1], m[3], -1) <= 0 then redis.call('HDEL', KEYS[1], m[3]) end
    marked = marked + 1
  end
end
return marked
