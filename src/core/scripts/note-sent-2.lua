--[[
  Cluster only, step 3 of a send, in the sender's slot, after delivery: the sender's copy
  of the conversation, the receiver raised in the sender's conversations and, the first
  time, the sender's channel told what they sent (includes/send-steps.lua, note_sent).
  Run again it changes nothing, and rings nothing when given no channel.

  KEYS[1] user_conversations:{<sender>}            ZSET
  KEYS[2] conversation:{<sender>}:<receiver>       ZSET the sender's copy
  ARGV[1] message id, ARGV[2] sender id, ARGV[3] receiver id, ARGV[4] text,
  ARGV[5] the sender's doorbell channel (sharded), or '' not to ring it,
  ARGV[6] the member (message:{<receiver>}:<id>), ARGV[7] the timestamp delivery gave it
  Returns: 1
]]
--#include time
--#include doorbell
--#include bad-data
--#include send-steps

note_sent({conversations = KEYS[1], copy = KEYS[2]},
  {id = ARGV[1], sender = ARGV[2], receiver = ARGV[3], text = ARGV[4], member = ARGV[6]},
  ARGV[7], ARGV[5])
return 1
