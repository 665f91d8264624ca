-- What a live stream missed: entries after a cursor, with their unread scores.
-- KEYS: inbox stream, unread zset, trimmed marker
-- ARGV: cursor (exclusive), count
-- Returns {newest trimmed id or false, newest id or false, redis time ms,
--          id, payload, score-or-false, ...}
local trimmed = redis.call('GET', KEYS[3])
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local time = redis.call('TIME')
local out = {trimmed, false, time[1] * 1000 + math.floor(time[2] / 1000)}
if #newest > 0 then
  out[2] = newest[1][1]
end
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry[2][2]
  out[#out + 1] = redis.call('ZSCORE', KEYS[2], entry[1])
end
return out
