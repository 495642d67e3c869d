--[[
  Cluster only: takes out of the user's sets of unseen messages members that
  listUnreadMessages met and found not unread, and sets each sender's counter to what is
  left in its set (removed at zero), as forget-unread-n does. A member whose message is
  gone (or is not a hash) or is seen is taken out as it is: neither comes back. One whose
  message is unseen but not in the inbox (a retention job removed its entry) is taken out
  only if it is still not there, read now in this slot: a send retried meanwhile may have
  put the entry back.

  KEYS[1]    user_unread:{<user>}           HASH sender -> unseen count
  KEYS[2]    user_messages:{<user>}         ZSET the inbox
  KEYS[3..n] user_unseen:{<user>}:<sender>  ZSET, one per sender in ARGV, in that order
  ARGV       per sender: the sender id, k, then k pairs (member, why: 'gone', 'seen' or
             'absent')
  Returns: how many members it took out
]]
--#include unseen-counter

local removed = 0
local at = 1
for i = 3, #KEYS do
  local sender, k = ARGV[at], tonumber(ARGV[at + 1])
  for j = at + 2, at + 2 * k, 2 do
    local member, why = ARGV[j], ARGV[j + 1]
    if why ~= 'absent' or not redis.call('ZSCORE', KEYS[2], member) then
      removed = removed + redis.call('ZREM', KEYS[i], member)
    end
  end
  set_unread_counter(KEYS[1], sender, KEYS[i])
  at = at + 2 + 2 * k
end
return removed
