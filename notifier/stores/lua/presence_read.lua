-- Some users' presence in one partition, with this node's clock (the clock their
-- expiries were written with), in one atomic read.
-- KEYS: until zset, since hash, last_seen hash (one partition's)
-- ARGV: user ids
-- Returns {now ms, then per user: latest expiry or false, online since or false,
--          last seen or false}
local time = redis.call('TIME')
local out = {tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)}
for _, user in ipairs(ARGV) do
  out[#out + 1] = redis.call('ZSCORE', KEYS[1], user)
  out[#out + 1] = redis.call('HGET', KEYS[2], user)
  out[#out + 1] = redis.call('HGET', KEYS[3], user)
end
return out
