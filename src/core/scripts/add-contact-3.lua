--[[
  Adds a contact to a user's contact set, if both users exist.

  KEYS[1] user:<user>
  KEYS[2] user:<contact>
  KEYS[3] user_contacts:<user>  SET (the seed's)
  ARGV[1] the contact's id
  Returns: 1 added, 0 already a contact, -1 no such user, -2 no such contact
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end
return redis.call('SADD', KEYS[3], ARGV[1])
