-- Included by the send scripts (`--#include doorbell`; src/redis/lua-script.ts). What a
-- user's channel carries, as src/core/doorbell.ts parses it: a received message (no
-- `kind`, as before there were others; `previous` lets a subscriber whose cursor is already
-- there skip reading the inbox), and a message the user sent.
local function received_bell(id, sender, receiver, text, timestamp, previous)
  return cjson.encode({
    id = id, sender_id = sender, receiver_id = receiver, message = text,
    timestamp = timestamp, previous = previous,
  })
end
local function sent_bell(id, sender, receiver, text, timestamp)
  return cjson.encode({
    kind = 'sent', id = id, sender_id = sender, receiver_id = receiver, message = text,
    timestamp = timestamp,
  })
end
