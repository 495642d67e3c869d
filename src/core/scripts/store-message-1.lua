--[[
  Cluster only, step 1 of a send: stores the message hash, or, when the id is stored
  already, checks that it is the same message (a retry). Nothing indexes the message
  yet, so it is invisible until deliver-message-4 puts it in the inbox. The timestamp
  is provisional: step 3 replaces it with the message's score in the inbox.

  KEYS[1] message:{<id>}  HASH (the seed's fields)
  ARGV[1] message id
  ARGV[2] sender id
  ARGV[3] receiver id
  ARGV[4] text
  Returns: {1} stored now; {0, seen} stored before, the same message (seen 'True' or
           'False'); {-3} the id belongs to another message
]]
--#include time
local stored = redis.call('HMGET', KEYS[1], 'sender_id', 'receiver_id', 'message', 'seen')
if stored[1] then
  if stored[1] == ARGV[2] and stored[2] == ARGV[3] and stored[3] == ARGV[4] then
    return {0, stored[4] or 'False'}
  end
  return {-3}
end
local timestamp = format_micros(now_micros())
redis.call('HSET', KEYS[1], 'message_id', ARGV[1], 'sender_id', ARGV[2], 'receiver_id', ARGV[3],
  'message', ARGV[4], 'timestamp', timestamp, 'seen', 'False')
return {1}
