-- What a live stream missed: entries after a cursor, with their unread scores.
-- KEYS: inbox stream, unread zset, trimmed marker, archived zset, snoozed zset
-- ARGV: cursor (exclusive), count
-- Returns {newest trimmed id or false, newest id or false, redis time ms,
--          unread count, id, payload, score-or-false, out of the inbox list
--          (archived or snoozed: 1, else 0), ...}
local trimmed = redis.call('GET', KEYS[3])
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
local out = {trimmed, false, now, redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')}
if #newest > 0 then
  out[2] = newest[1][1]
end
-- A cursor from the future has nothing after it (and the largest id cannot be
-- an exclusive start): the caller sees it is ahead and resets the stream.
local cursor_ms = tonumber(string.sub(ARGV[1], 1, string.find(ARGV[1], '-', 1, true) - 1))
if cursor_ms > now then
  return out
end
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry[2][2]
  out[#out + 1] = redis.call('ZSCORE', KEYS[2], entry[1])
  out[#out + 1] = (redis.call('ZSCORE', KEYS[4], entry[1])
                   or redis.call('ZSCORE', KEYS[5], entry[1])) and 1 or 0
end
return out
