--[[
  Cluster only, step 2 of a send, in the receiver's slot, after the sender's check: stores
  the message and delivers it in one script (includes/send-steps.lua, check_receiver and
  deliver): the hash, the inbox entry (now it is visible), the unread count and the set of
  the sender's unseen messages, the sender raised in the receiver's conversations, the
  receiver's copy of the conversation and the doorbell. Run again with the same message it
  writes nothing and returns what the first run stored.

  KEYS[1] user:{<receiver>}                        HASH
  KEYS[2] user_messages:{<receiver>}               ZSET the inbox
  KEYS[3] user_conversations:{<receiver>}          ZSET
  KEYS[4] user_unread:{<receiver>}                 HASH sender -> unseen count
  KEYS[5] user_unseen:{<receiver>}:<sender>        ZSET the sender's unseen messages
  KEYS[6] message:{<receiver>}:<id>                HASH (the seed's fields)
  KEYS[7] conversation:{<receiver>}:<sender>       ZSET the receiver's copy
  ARGV[1] message id, ARGV[2] sender id, ARGV[3] receiver id, ARGV[4] text,
  ARGV[5] the receiver's doorbell channel (sharded), ARGV[6] the member (message:{<receiver>}:<id>)
  Returns: {1, timestamp} stored now; {0, timestamp, seen} stored before; {-2} no such
           receiver; {-3} the id is another message's; {-4, key, problem} bad data,
           nothing written
]]
--#include time
--#include doorbell
--#include bad-data
--#include send-steps

local R = {user = KEYS[1], inbox = KEYS[2], conversations = KEYS[3], unread = KEYS[4],
  unseen = KEYS[5], message = KEYS[6], copy = KEYS[7]}
local m = {id = ARGV[1], sender = ARGV[2], receiver = ARGV[3], text = ARGV[4], member = ARGV[6]}
local refused = check_receiver(R, m)
if refused then return refused end
return {1, deliver(R, m, ARGV[5])}
