-- The server bench's script for wrk (bench/http-load.ts). Arguments after `--`: a seed,
-- then optionally a file of lines "<token> <JSON body>" (one per sender): given it, each
-- request is a PUT /api/v1/messages/<fresh v4 UUID> from the next sender in turn, else
-- wrk's own request (the URL, GET). At the end, one JSON line of what wrk counted.

local senders = {}
local next_sender = 0

local random, format = math.random, string.format

local function fresh_id()
  -- Version 4, variant 10xx: what the server's uuid format accepts, and unique per run
  -- as long as the seed is (the bench draws it at random). Pieces of at most 16 bits:
  -- LuaJIT formats %x from 32-bit integers.
  return format("%04x%04x-%04x-4%03x-%x%03x-%04x%04x%04x",
    random(0, 0xffff), random(0, 0xffff), random(0, 0xffff), random(0, 0xfff),
    random(8, 11), random(0, 0xfff), random(0, 0xffff), random(0, 0xffff), random(0, 0xffff))
end

function init(args)
  math.randomseed(tonumber(args[1]) or 1)
  if args[2] == nil then return end
  for line in io.lines(args[2]) do
    local token, body = line:match("^(%S+) (.+)$")
    -- The request made once with a placeholder for the id, cut in two around it.
    local whole = wrk.format("PUT", "/api/v1/messages/ID", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, body)
    local before, after = whole:match("^(PUT /api/v1/messages/)ID( .*)$")
    senders[#senders + 1] = { before = before, after = after }
  end
  -- Defined only with senders: without it wrk sends its own request, built once.
  request = function()
    next_sender = next_sender % #senders + 1
    local sender = senders[next_sender]
    return sender.before .. fresh_id() .. sender.after
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout))
end
