-- Add a member to a group that exists and is not full.
-- KEYS: group hash, members zset
-- ARGV: user id, joined ms, max members
-- Returns 1 when added, 0 when already a member, -1 when no such group, -2 when full.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 0
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  return -2
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
