-- Replace a broadcast's JSON (e.g. a maintenance window ended early), log the
-- change so resuming streams replay it, and publish it.
-- KEYS: log stream, items hash, alive zset, channel, windows zset
-- ARGV: broadcast id, expected current JSON, new JSON, new expiry score,
--       new end of its window (ms; '' when none), publish command (SPUBLISH on a
--       cluster; PUBLISH when absent)
-- Returns the log position of the change, 0 when the broadcast is unknown, or
-- -1 when it changed since the caller read it.
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then
  return 0
end
if current ~= ARGV[2] then
  return -1
end
local pos = redis.call('XADD', KEYS[1], '*', 'n', ARGV[3], 'b', ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
end
if ARGV[5] ~= '' and redis.call('ZSCORE', KEYS[5], ARGV[1]) then
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
end
redis.call(ARGV[6] or 'PUBLISH', KEYS[4], '{"kind":"broadcast","pos":"' .. pos .. '","broadcast":' .. ARGV[3] .. '}')
return pos
