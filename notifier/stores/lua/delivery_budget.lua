-- Whether one more job fits every window of a user's budget on one channel
-- (sliding windows: at most limit jobs in any window_ms).
-- KEYS: one sorted set per window (job id -> when it was sent, ms)
-- ARGV: the job's id, then limit and window_ms for each key
-- Returns {1, 0} and records the job in every window when it fits (a job already
-- recorded, say reclaimed after a crash, is not counted twice); else {0, the
-- time (ms) when every full window has room again}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
local reopen = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i * 2])
  local window = tonumber(ARGV[i * 2 + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if not redis.call('ZSCORE', key, member) then
    local count = redis.call('ZCARD', key)
    if count >= limit then
      local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      local at = tonumber(oldest[2]) + window
      if at > reopen then
        reopen = at
      end
    end
  end
end
if reopen > 0 then
  return {0, tostring(reopen)}
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'NX', now, member)
  redis.call('PEXPIRE', key, tonumber(ARGV[i * 2 + 1]))
end
return {1, '0'}
