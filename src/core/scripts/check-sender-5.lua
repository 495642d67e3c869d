--[[
  Cluster only, step 1 of a send, in the sender's slot, before anything is stored: checks
  that the sender exists, that no message of the conversation has this id, and that the
  keys step 3 writes after delivery hold what they should (includes/send-steps.lua,
  check_sender); then, with a send limit, takes a token from the sender's bucket, for a
  send refused here too, as send-message-9.lua does on one Redis (a send past its bucket
  writes nothing else; one whose keys hold bad data writes nothing at all).

  KEYS[1] user:{<sender>}                          HASH
  KEYS[2] user_conversations:{<sender>}            ZSET
  KEYS[3] rate:send:{<sender>}                     HASH the send bucket (token-bucket.lua)
  KEYS[4] conversation:{<sender>}:<receiver>       ZSET the sender's copy
  KEYS[5] message:{<sender>}:<id>                  HASH a message to the sender with this id
  ARGV[1] the bucket's burst, or '' for no send limit
  ARGV[2] the bucket's milliseconds per token
  ARGV[3] sender id, ARGV[4] receiver id, ARGV[5] text
  Returns: {1} all is well; {-1} no such sender; {-3} the id is another message's;
           {-4, key, problem} bad data; {-5, ms} the bucket is empty for ms more
]]
--#include time
--#include doorbell
--#include bad-data
--#include token-bucket
--#include send-steps

local refused = check_sender({user = KEYS[1], conversations = KEYS[2], copy = KEYS[4],
  claimed = KEYS[5]}, {sender = ARGV[3], receiver = ARGV[4], text = ARGV[5]})
-- Bad data refuses before the token (nothing written); a send refused otherwise takes
-- one, as on one Redis: a refusal is a request too.
if refused and refused[1] == -4 then return refused end
if ARGV[1] ~= '' then
  refused = check_type('hash', KEYS[3])
  if refused then return refused end
  local wait = take_token(KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]))
  if wait > 0 then return {-5, tostring(wait)} end
end
return refused or {1}
