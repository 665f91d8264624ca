-- What a live stream missed of the broadcast log, and which broadcasts are alive.
-- KEYS: log stream, alive zset, trimmed marker, windows zset
-- ARGV: cursor (exclusive; '' for none), count
-- Returns {newest trimmed id or false, newest id or false, redis time ms,
--          {alive id, expiry, ...}, {windowed id, window end, ...},
--          pos, broadcast id or false, payload, ...}
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local out = {redis.call('GET', KEYS[3]), false, now,
             redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf', 'WITHSCORES'),
             redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')}
if #newest > 0 then
  out[2] = newest[1][1]
end
if ARGV[1] == '' then
  return out
end
-- A cursor from the future has nothing after it (see replay.lua).
local cursor_ms = tonumber(string.sub(ARGV[1], 1, string.find(ARGV[1], '-', 1, true) - 1))
if cursor_ms > now then
  return out
end
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry[2][4] or false
  out[#out + 1] = entry[2][2]
end
return out
