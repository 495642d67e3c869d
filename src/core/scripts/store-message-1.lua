--[[
  Cluster only, step 1 of a send: stores the message hash, or, when the id is stored
  already, checks that it is the same message (a retry). Nothing indexes the message
  yet, so it is invisible until deliver-message-5 puts it in the inbox. The timestamp
  is this node's time; step 2 scores the inbox entry with it unless that would put it
  before the inbox's newest, and step 3 then sets the hash's to the score.

  KEYS[1] message:{<id>}  HASH (the seed's fields)
  ARGV[1] message id
  ARGV[2] sender id
  ARGV[3] receiver id
  ARGV[4] text
  Returns: {1, timestamp} stored now; {0, seen, timestamp} stored before, the same
           message (seen 'True' or 'False', the timestamp it has); {-3} the id belongs
           to another message
]]
--#include time
local stored = redis.call('HMGET', KEYS[1], 'sender_id', 'receiver_id', 'message', 'seen', 'timestamp')
if stored[1] then
  if stored[1] == ARGV[2] and stored[2] == ARGV[3] and stored[3] == ARGV[4] then
    return {0, stored[4] or 'False', stored[5] or ''}
  end
  return {-3}
end
local timestamp = format_micros(now_micros())
redis.call('HSET', KEYS[1], 'message_id', ARGV[1], 'sender_id', ARGV[2], 'receiver_id', ARGV[3],
  'message', ARGV[4], 'timestamp', timestamp, 'seen', 'False')
return {1, timestamp}
