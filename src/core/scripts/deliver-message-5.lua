--[[
  Cluster only, step 2 of a send, in the receiver's slot: puts the message in the inbox
  (this makes it visible), and only the first time: counts it unread (the counter, and the
  member in the set of the sender's unseen messages that the counter is the size of),
  raises the sender in the receiver's conversations and rings the doorbell. Run again
  with the same id it changes nothing and returns the score the message got the first time.

  KEYS[1] user:{<receiver>}
  KEYS[2] user_messages:{<receiver>}       ZSET the inbox
  KEYS[3] user_conversations:{<receiver>}  ZSET
  KEYS[4] user_unread:{<receiver>}         HASH sender -> unseen count
  KEYS[5] user_unseen:{<receiver>}:<sender>  ZSET the sender's unseen messages
  ARGV[1] message id
  ARGV[2] sender id
  ARGV[3] receiver id
  ARGV[4] text
  ARGV[5] the receiver's doorbell channel (sharded)
  ARGV[6] the message hash's timestamp ("seconds.micros", step 1's node's time); if it is
          not a number, this node's time
  Returns: {1, timestamp} delivered now; {0, timestamp} delivered before; {-2} no such receiver;
           {-4, key, problem} a key holds what it should not (bad data): nothing written
]]
--#include time
--#include doorbell
--#include bad-data

local member = 'message:' .. ARGV[1]
local score = redis.call('ZSCORE', KEYS[2], member)
if score then return {0, format_micros(micros_of(score))} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2} end
local bad = wrong_type({[2] = 'zset', [3] = 'zset', [4] = 'hash', [5] = 'zset'})
  or bad_count(KEYS[4], ARGV[2])
if bad then return bad end

-- The hash's time (a server's: the node that stored it), else this one's, moved past the
-- newest entry of the inbox: the inbox only grows at its end, so a subscriber holding a
-- cursor never misses a message. Taking the hash's spares the send a step when it needs
-- no raise: the hash already says when the message was sent.
local micros = tonumber(ARGV[6]) and micros_of(ARGV[6]) or now_micros()
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local previous = ''
if last[2] then
  micros = math.max(micros, micros_of(last[2]) + 1)
  previous = last[1]
end
local timestamp = format_micros(micros)

redis.call('ZADD', KEYS[2], timestamp, member)
redis.call('ZADD', KEYS[3], 'GT', timestamp, ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
redis.call('ZADD', KEYS[5], timestamp, member)
redis.call('SPUBLISH', ARGV[5], received_bell(ARGV[1], ARGV[2], ARGV[3], ARGV[4], timestamp, previous))
return {1, timestamp}
