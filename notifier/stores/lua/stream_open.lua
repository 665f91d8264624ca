-- Record an open stream of one user; beyond the cap, take out the oldest and return them.
-- KEYS[1] the user's open streams (sorted set)
-- ARGV: stream id, opened at (ms), cap, seconds to keep the set
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess <= 0 then
  return {}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
redis.call('ZREM', KEYS[1], unpack(oldest))
return oldest
