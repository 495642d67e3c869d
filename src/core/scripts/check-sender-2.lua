--[[
  Cluster only, step 1 of a send, in the sender's slot, beside storing the hash: checks
  that the sender exists (users are never deleted, so it stays true) and that their list
  of conversations, which step 5 writes after the message is visible, is not bad data
  (a key of the wrong type there would fail every retry after delivery). One request
  instead of EXISTS and TYPE. Writes nothing.

  KEYS[1] user:{<sender>}                HASH
  KEYS[2] user_conversations:{<sender>}  ZSET
  Returns: 1 all is well; 0 no such sender; {-4, key, problem} a key holds what it
           should not (bad data)
]]
--#include bad-data

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return wrong_type({[2] = 'zset'}) or 1
