-- Included by the cluster scripts that change a user's sets of unseen messages
-- (`--#include unseen-counter`; src/redis/lua-script.ts): a sender's unread counter is
-- the size of that sender's set, and is removed at zero, as on one Redis.
local function set_unread_counter(unread, sender, unseen)
  local size = redis.call('ZCARD', unseen)
  if size > 0 then
    redis.call('HSET', unread, sender, size)
  else
    redis.call('HDEL', unread, sender)
  end
end
