--[[
  Cluster only, step 1 of a send, in the sender's slot, beside storing the hash: checks
  that the sender exists (users are never deleted, so it stays true) and that their list
  of conversations, which step 5 writes after the message is visible, is not bad data
  (a key of the wrong type there would fail every retry after delivery). One request
  instead of EXISTS and TYPE. With a send limit, first takes a token from the sender's
  bucket, as send-message-9.lua does on one Redis, and then runs alone, before the hash
  is stored (a send past its bucket writes nothing); writes nothing else.

  KEYS[1] user:{<sender>}                HASH
  KEYS[2] user_conversations:{<sender>}  ZSET
  KEYS[3] rate:send:{<sender>}           HASH the sender's send bucket (token-bucket.lua)
  ARGV[1] the bucket's burst, or '' for no send limit
  ARGV[2] the bucket's milliseconds per token
  Returns: 1 all is well; 0 no such sender; {-4, key, problem} a key holds what it
           should not (bad data); {-5, ms} the sender's bucket is empty for ms more
]]
--#include bad-data
--#include token-bucket

if ARGV[1] ~= '' then
  local wait = take_token(KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]))
  if wait > 0 then return {-5, tostring(wait)} end
end

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return wrong_type({[2] = 'zset'}) or 1
