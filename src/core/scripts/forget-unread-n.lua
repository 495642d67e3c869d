--[[
  Cluster only: after messages were flipped to seen in their own slots, takes them out of
  the user's sets of unseen messages and sets each sender's unread counter to what is left
  in that sender's set (removed at zero, as on one Redis). Removing a member twice removes
  it once, so a retry of a mark cut short after its flips lowers the counter exactly as
  much as the cut one should have; and setting (not lowering) the counter repairs one
  that has drifted from its set.

  KEYS[1]    user_unread:{<user>}           HASH sender -> unseen count
  KEYS[2..n] user_unseen:{<user>}:<sender>  ZSET, one per sender in ARGV, in that order
  ARGV       per sender: the sender id, k, then k message members (message:<id>)
  Returns: how many members were in the sets (messages counted unread until now)
]]
--#include unseen-counter

local removed = 0
local at = 1
for i = 2, #KEYS do
  local sender, k = ARGV[at], tonumber(ARGV[at + 1])
  for j = at + 2, at + 1 + k, 500 do
    removed = removed + redis.call('ZREM', KEYS[i], unpack(ARGV, j, math.min(j + 499, at + 1 + k)))
  end
  set_unread_counter(KEYS[1], sender, KEYS[i])
  at = at + 2 + k
end
return removed
