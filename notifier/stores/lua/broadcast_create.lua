-- Store a broadcast once and publish it on the broadcast channel.
-- KEYS: log stream, items hash, alive zset, trimmed marker, channel, windows zset,
--       [idempotency key if ARGV[4] == '1']
-- ARGV: now_ms, cap, slack, has_idem, idem_ttl_s, fingerprint,
--       payload (JSON object without "id"), expiry score (ms or +inf),
--       end of the window it announces (ms; '' when none), publish command
--       (PUBLISH, or SPUBLISH on a cluster)
-- Returns the broadcast id, or {'duplicate', stored_outcome}.
local now = ARGV[1]
local has_idem = ARGV[4] == '1'
if has_idem then
  local prior = redis.call('GET', KEYS[7])
  if prior then
    return {'duplicate', prior}
  end
end

local id = redis.call('XADD', KEYS[1], '*', 'n', ARGV[7])
local doc = '{"id":"b' .. id .. '",' .. string.sub(ARGV[7], 2)
redis.call('HSET', KEYS[2], id, doc)
redis.call('ZADD', KEYS[3], ARGV[8], id)
if ARGV[9] ~= '' then
  redis.call('ZADD', KEYS[6], ARGV[9], id)
end

-- Cap the log in steps of `slack`; broadcasts created by trimmed entries go
-- with them, and the newest trimmed id tells older cursors to reset.
local cap = tonumber(ARGV[2])
local length = redis.call('XLEN', KEYS[1])
if length > cap + tonumber(ARGV[3]) then
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', length - cap)
  for _, entry in ipairs(oldest) do
    if #entry[2] == 2 then -- a creation entry (updates also carry 'b')
      redis.call('HDEL', KEYS[2], entry[1])
      redis.call('ZREM', KEYS[3], entry[1])
      redis.call('ZREM', KEYS[6], entry[1])
    end
  end
  redis.call('XTRIM', KEYS[1], 'MAXLEN', cap)
  redis.call('SET', KEYS[4], oldest[#oldest][1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
-- A window matters while its broadcast is alive (it may outlive the window).
for _, window in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[3], window) then
    redis.call('ZREM', KEYS[6], window)
  end
end
redis.call(ARGV[10], KEYS[5], '{"kind":"broadcast","pos":"' .. id .. '","broadcast":' .. doc .. '}')
if has_idem then
  redis.call('SET', KEYS[7], ARGV[6] .. '\n' .. id, 'EX', ARGV[5])
end
return id
