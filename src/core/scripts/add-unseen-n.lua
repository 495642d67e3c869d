--[[
  Cluster only, for reindex's recount: puts unseen messages that no set counts yet (stored
  with seen = 'False' by another program) into the user's sets of unseen messages, and
  sets each sender's counter to its set's size, as forget-unread-n does. The caller read
  the flags in the messages' own slots before this, so it reads the flags of the members
  added now once more, and takes out again (forget-unread-n) any a mark flipped meanwhile.

  KEYS[1]    user_unread:{<user>}           HASH sender -> unseen count
  KEYS[2..n] user_unseen:{<user>}:<sender>  ZSET, one per sender in ARGV, in that order
  ARGV       per sender: the sender id, k, then k pairs of score, member (message:<id>)
  Returns: the members that were in no set before
]]
--#include unseen-counter

local added = {}
local at = 1
for i = 2, #KEYS do
  local sender, k = ARGV[at], tonumber(ARGV[at + 1])
  for j = at + 2, at + 2 * k, 2 do
    if redis.call('ZADD', KEYS[i], 'NX', ARGV[j], ARGV[j + 1]) == 1 then
      added[#added + 1] = ARGV[j + 1]
    end
  end
  set_unread_counter(KEYS[1], sender, KEYS[i])
  at = at + 2 + 2 * k
end
return added
