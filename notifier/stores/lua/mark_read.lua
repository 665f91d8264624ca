-- Mark notifications read and tell the user's open streams.
-- KEYS: unread zset, user channel, inbox stream
-- ARGV: now_ms, mode ('ids', 'all' or 'thread'), receipt key prefix (Keys.receipts(user,
--       ""): the user's slot), receipt ttl seconds, publish command (PUBLISH or
--       SPUBLISH), then the ids (mode 'ids'), or an optional newest id to include (mode
--       'all'; empty for no bound), or the thread's name (mode 'thread': every unread
--       notification whose payload names that thread)
-- Each newly read notification gets its read_at (and seen_at, if not seen yet).
-- Returns {number newly read, unread count}.
local now = ARGV[1]
local mode = ARGV[2]
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function not_after(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return ams < bms or (ams == bms and aseq <= bseq)
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local read = {}
if mode == 'ids' then
  for i = 6, #ARGV do
    if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
      read[#read + 1] = ARGV[i]
    end
  end
elseif mode == 'thread' then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local entry = redis.call('XRANGE', KEYS[3], id, id)[1]
    -- A payload is a JSON object whose "thread", when there, is a string.
    if entry and cjson.decode(entry[2][2]).thread == ARGV[6] then
      read[#read + 1] = id
    end
  end
  for i = 1, #read, 500 do
    redis.call('ZREM', KEYS[1], unpack(read, i, math.min(i + 499, #read)))
  end
else
  local bound = ARGV[6] or ''
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if bound == '' or not_after(id, bound) then
      read[#read + 1] = id
    end
  end
  for i = 1, #read, 500 do
    redis.call('ZREM', KEYS[1], unpack(read, i, math.min(i + 499, #read)))
  end
end
for _, id in ipairs(read) do
  local key = ARGV[3] .. id
  redis.call('HSETNX', key, 'read_at', now)
  redis.call('HSETNX', key, 'seen_at', now)
  redis.call('EXPIRE', key, ARGV[4])
end
local count = redis.call('ZCARD', KEYS[1])
if #read > 0 then
  redis.call(ARGV[5], KEYS[2],
    '{"kind":"read","ids":["' .. table.concat(read, '","') .. '"],"unread":' .. count .. '}')
end
return {#read, count}
