--[[
  Finds the names that start with a prefix, in folded order, from the name index; and
  says whether the index is complete. A range by lex needs an upper bound past every name
  that starts with the prefix: the prefix followed by byte 0xFF, which no UTF-8 text holds
  (and which a JavaScript string cannot carry as one byte, hence this script).

  KEYS[1] name_index  ZSET score 0, `<folded>\0<as typed>\0<id>`
  KEYS[2] usernames   HASH name as typed -> user id (one name index member each)
  ARGV[1] the folded prefix
  ARGV[2] how many members at most
  Returns: {behind, member...}: behind is 1 when the name index holds fewer members than
           `usernames` has names (names stored before it existed, or by the original
           program: index them, then search again), else 0
]]
local behind = 0
if redis.call('ZCARD', KEYS[1]) < redis.call('HLEN', KEYS[2]) then
  behind = 1
end
local members = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. ARGV[1], '(' .. ARGV[1] .. '\255',
  'LIMIT', 0, tonumber(ARGV[2]))
table.insert(members, 1, behind)
return members
