-- Record a failed attempt: the item waits ARGV[5] ms and is retried, or, its
-- attempts used up, is kept as failed (listed with its error until cancelled).
-- KEYS: due, running, failed, attempts, errors
-- ARGV: id, attempt, error, max_attempts, retry_delay_ms
-- Returns 'retrying' or 'failed', or 'stale' when this attempt no longer holds
-- the item (its lease expired and another process claimed it again).
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[2], id) or redis.call('HGET', KEYS[4], id) ~= ARGV[2] then
  return 'stale'
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[2], id)
redis.call('HSET', KEYS[5], id, ARGV[3])
if tonumber(ARGV[2]) >= tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[3], now, id)
  return 'failed'
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), id)
return 'retrying'
