#!lua flags=allow-cross-slot-keys
--[[
  Cluster only: a whole send in one script, when the master that serves the sender's slot
  serves the receiver's too (every send on a cluster of one shard, one in N on N): the
  three steps (check-sender-5, deliver-message-7, note-sent-2) in their order, with the
  same checks, writes and replies, but all or nothing and one round trip instead of three
  (src/core/backend/cluster-writes.ts). The receiver's keys are not declared (the
  allow-cross-slot-keys flag, Redis 7): Redis only lets a script touch keys its node
  serves, and fails the command that touches any other, after the script's earlier
  writes. So every key it writes is read first, before anything is written (by a read
  the send needs anyway where it has one, else TYPE): if a slot has moved or
  is migrating, that read fails and the script returns {-9} having written nothing, and
  the caller takes the steps instead. The caller never sends it on after a redirection
  either: on the node a slot is being imported to (ASK, ASKING), a key that has not
  arrived reads as missing rather than failing, which would refuse a receiver who exists
  or start a second inbox.

  KEYS[1]  user:{<sender>}                         HASH
  ARGV[1]  message id, ARGV[2] sender id, ARGV[3] receiver id, ARGV[4] text
  ARGV[5]  the receiver's doorbell channel (sharded), ARGV[6] the sender's
  ARGV[7]  the send bucket's burst, or '' for no send limit, ARGV[8] its ms per token
  ARGV[9]  the member (message:{<receiver>}:<id>)
  ARGV[10] user_conversations:{<sender>}, ARGV[11] rate:send:{<sender>},
  ARGV[12] conversation:{<sender>}:<receiver>, ARGV[13] message:{<sender>}:<id>,
  ARGV[14] user:{<receiver>}, ARGV[15] user_messages:{<receiver>},
  ARGV[16] user_conversations:{<receiver>}, ARGV[17] user_unread:{<receiver>},
  ARGV[18] user_unseen:{<receiver>}:<sender>, ARGV[19] message:{<receiver>}:<id>,
  ARGV[20] conversation:{<receiver>}:<sender>
  Returns: as the steps: {1, timestamp} stored now; {0, timestamp, seen} stored before (it
           completes what an earlier send's steps left undone); {-1} no such sender; {-2}
           no such receiver; {-3} the id is another message's; {-4, key, problem} bad
           data; {-5, ms} the bucket is empty for ms more: nothing written. And {-9}: a
           key is not served here now, nothing written.
]]
--#include time
--#include doorbell
--#include bad-data
--#include token-bucket
--#include send-steps

-- Every key this send writes is read before any write (includes/send-steps.lua): a key
-- of a slot this node does not serve now fails that read, and the script returns {-9}.
not_here = {-9}
local limited = ARGV[7] ~= ''
local S = {user = KEYS[1], conversations = ARGV[10], copy = ARGV[12], claimed = ARGV[13]}
local R = {user = ARGV[14], inbox = ARGV[15], conversations = ARGV[16], unread = ARGV[17],
  unseen = ARGV[18], message = ARGV[19], copy = ARGV[20]}
local m = {id = ARGV[1], sender = ARGV[2], receiver = ARGV[3], text = ARGV[4], member = ARGV[9]}
local refused = (limited and check_type('hash', ARGV[11])) or check_sender(S, m)
  or check_receiver(R, m)
if refused and (refused[1] == -9 or refused[1] == -4) then return refused end
-- As on one Redis, a send refused (or replayed) takes a token too: a request of its own.
if limited then
  local wait = take_token(ARGV[11], tonumber(ARGV[7]), tonumber(ARGV[8]))
  if wait > 0 then return {-5, tostring(wait)} end
end
if refused and refused[1] ~= 0 then return refused end
local timestamp = refused and refused[2] or deliver(R, m, ARGV[5])
note_sent(S, m, timestamp, refused and '' or ARGV[6])
return refused or {1, timestamp}
