-- Store notifications in users' inboxes and publish each on its user's channel.
-- Runs atomically: inputs are validated before the call and every key is ours,
-- so no command below can fail half-way; a send to many users stores for all
-- or (Redis unreachable, out of memory at the first write) for none.
--
-- KEYS: [idempotency key if ARGV[4] == '1'], then a rate-limit list per limit, then
--       per recipient: inbox stream, unread zset, trimmed marker, user channel,
--       broadcast state
-- ARGV: now_ms, cap, slack, has_idem, idem_ttl_s, fingerprint, n_payloads, n_limits,
--       limit timestamp (s), then (amount, window_s) per limit,
--       payload_1..payload_n, expiry_1..expiry_n, then a payload index per recipient,
--       then live flags per recipient (see "Live flags" below)
-- Returns the new ids in recipient order, {'duplicate', stored_outcome}, or
-- {'limited', i} when the i-th limit has no room (nothing is stored or spent).
local now = ARGV[1]
local cap = tonumber(ARGV[2])
local slack = tonumber(ARGV[3])
local has_idem = ARGV[4] == '1'
local n_payloads = tonumber(ARGV[7])
local n_limits = tonumber(ARGV[8])
local first = 1
if has_idem then
  first = 2
end

-- The sender's rate limits: a moving window per limit, kept exactly as the `limits`
-- library keeps it for Flask-Limiter (a list of hit timestamps, newest first), so the
-- API key's one budget is shared with every other route. Checked before anything else,
-- as Flask-Limiter checks before the view: an idempotent replay spends it too.
if n_limits > 0 then
  local stamp = tonumber(ARGV[9])
  for i = 1, n_limits do
    local amount = tonumber(ARGV[8 + 2 * i])
    local window = tonumber(ARGV[9 + 2 * i])
    local entry = redis.call('LINDEX', KEYS[first + i - 1], amount - 1)
    if entry and tonumber(entry) >= stamp - window then
      return {'limited', i}
    end
  end
  for i = 1, n_limits do
    local key = KEYS[first + i - 1]
    redis.call('LPUSH', key, ARGV[9])
    redis.call('LTRIM', key, 0, tonumber(ARGV[8 + 2 * i]) - 1)
    redis.call('EXPIRE', key, ARGV[9 + 2 * i])
  end
end

if has_idem then
  local prior = redis.call('GET', KEYS[1])
  if prior then
    return {'duplicate', prior}
  end
end
first = first + n_limits
-- Where the per-payload and per-recipient arguments start.
local base = 9 + 2 * n_limits

-- Live flags (preferences, notifier.routing): what the live event tells the page.
-- 1: inside the recipient's quiet hours, not urgent (no toast or sound);
-- 2: in-app switched off for this type (kept in the inbox, not shown live).
local LIVE_FLAGS = {[0] = '', [1] = ',"quiet":true', [2] = ',"live":false',
                    [3] = ',"quiet":true,"live":false'}

local ids = {}
local n_recipients = (#KEYS - first + 1) / 5
for r = 0, n_recipients - 1 do
  local inbox = KEYS[first + r * 5]
  local unread = KEYS[first + r * 5 + 1]
  local trimmed = KEYS[first + r * 5 + 2]
  local channel = KEYS[first + r * 5 + 3]
  -- The user appears now, if not before: broadcasts from now on are theirs.
  redis.call('HSETNX', KEYS[first + r * 5 + 4], 'since', now)
  local p = tonumber(ARGV[base + 2 * n_payloads + r + 1])
  local payload = ARGV[base + p]
  local expiry = ARGV[base + n_payloads + p]

  local id = redis.call('XADD', inbox, '*', 'n', payload)
  redis.call('ZADD', unread, expiry, id)
  -- Cap the inbox in steps of `slack` entries, dropping the trimmed ids from the
  -- unread set first so the count never counts what the stream no longer holds,
  -- and remembering the newest trimmed id: a stream resuming from before it has
  -- missed something and must be told to reset.
  local length = redis.call('XLEN', inbox)
  if length > cap + slack then
    local oldest = redis.call('XRANGE', inbox, '-', '+', 'COUNT', length - cap)
    for _, entry in ipairs(oldest) do
      redis.call('ZREM', unread, entry[1])
    end
    redis.call('XTRIM', inbox, 'MAXLEN', cap)
    redis.call('SET', trimmed, oldest[#oldest][1])
  end
  redis.call('ZREMRANGEBYSCORE', unread, '-inf', now)
  local count = redis.call('ZCARD', unread)
  local live = LIVE_FLAGS[tonumber(ARGV[base + 2 * n_payloads + n_recipients + r + 1])]
  redis.call('PUBLISH', channel,
    '{"kind":"notification","id":"' .. id .. '","unread":' .. count .. live ..
    ',"notification":' .. payload .. '}')
  ids[#ids + 1] = id
end

if has_idem then
  redis.call('SET', KEYS[1], ARGV[6] .. '\n' .. table.concat(ids, ','), 'EX', ARGV[5])
end
return ids
