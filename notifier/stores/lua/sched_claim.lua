-- Claim up to ARGV[2] items: first those whose lease expired (the process that
-- claimed them stopped mid-run), then those that are due. A claimed id moves to
-- the running set with a lease deadline in this one atomic step, so of several
-- schedulers polling at once exactly one gets each item, and a cancel either
-- comes first (nothing to claim) or finds it running (nothing to cancel).
-- Time is Redis's clock, so schedulers on hosts with skewed clocks agree.
--
-- KEYS: due, running, failed, meta, body, attempts, errors
-- ARGV: lease_ms, limit, max_attempts
-- Returns {now_ms, next_ms or '', then id, attempt, meta, body per claimed item};
-- next_ms is the earliest due time or lease deadline still ahead.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local max_attempts = tonumber(ARGV[3])
local out = {now, ''}
local claimed = 0

local function claim(id)
  local meta = redis.call('HGET', KEYS[4], id)
  local body = redis.call('HGET', KEYS[5], id)
  if not meta or not body then
    redis.call('ZREM', KEYS[2], id)
    return
  end
  redis.call('ZADD', KEYS[2], now + lease, id)
  local attempt = redis.call('HINCRBY', KEYS[6], id, 1)
  out[#out + 1] = id
  out[#out + 1] = attempt
  out[#out + 1] = meta
  out[#out + 1] = body
  claimed = claimed + 1
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  local attempts = tonumber(redis.call('HGET', KEYS[6], id) or '0')
  if attempts >= max_attempts then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZADD', KEYS[3], now, id)
    redis.call('HSET', KEYS[7], id, 'the process running attempt ' .. attempts ..
      ' stopped before it finished')
  else
    claim(id)
  end
end
if claimed < limit then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit - claimed)
  for _, id in ipairs(due) do
    redis.call('ZREM', KEYS[1], id)
    claim(id)
  end
end

local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_lease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local wake = next_due[2]
if next_lease[2] and (not wake or tonumber(next_lease[2]) < tonumber(wake)) then
  wake = next_lease[2]
end
out[2] = wake or ''
return out
