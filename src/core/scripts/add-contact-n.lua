--[[
  Adds a contact to a user's contact set, if the users exist. On one Redis it checks both
  users (3 keys); on a cluster the contact's hash lives in another slot and was checked
  before (2 keys): users are never deleted, so that check stays true.

  KEYS[1] user:<user>
  KEYS[2] user_contacts:<user>  SET (the seed's)
  KEYS[3] user:<contact>        absent on a cluster
  ARGV[1] the contact's id
  Returns: 1 added, 0 already a contact, -1 no such user, -2 no such contact
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 0 then return -2 end
return redis.call('SADD', KEYS[2], ARGV[1])
