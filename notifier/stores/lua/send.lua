-- Store notifications in users' inboxes and publish each on its user's channel.
-- Runs atomically: inputs are validated before the call and every key is ours,
-- so no command below can fail half-way. On one Redis a send is one call (all
-- recipients or none); on a cluster it is one call per slot, each atomic.
--
-- KEYS: a rate-limit list per limit (one Redis only), then per recipient: inbox
--       stream, unread zset, trimmed marker, user channel, broadcast state, and
--       its idempotency marker when ARGV[4] == '1'
-- ARGV: now_ms, cap, slack, has_idem, idem_ttl_s, fingerprint, n_payloads, n_limits,
--       limit timestamp (s), publish command (PUBLISH or SPUBLISH),
--       then (amount, window_s) per limit, payload_1..payload_n, expiry_1..expiry_n,
--       then a payload index per recipient, then live flags per recipient
--       (see "Live flags" below)
-- Returns the new ids in recipient order, a replayed recipient's id prefixed with
-- '=' (its marker held this request's fingerprint), {'conflict'} when a marker holds
-- another request's (nothing is stored), or {'limited', i} when the i-th limit has
-- no room (nothing is stored or spent).
local now = ARGV[1]
local cap = tonumber(ARGV[2])
local slack = tonumber(ARGV[3])
local has_idem = ARGV[4] == '1'
local fingerprint = ARGV[6]
local n_payloads = tonumber(ARGV[7])
local n_limits = tonumber(ARGV[8])
local publish = ARGV[10]

-- The sender's rate limits: a moving window per limit, kept exactly as the `limits`
-- library keeps it for Flask-Limiter (a list of hit timestamps, newest first), so the
-- API key's one budget is shared with every other route. Checked before anything else,
-- as Flask-Limiter checks before the view: an idempotent replay spends it too.
if n_limits > 0 then
  local stamp = tonumber(ARGV[9])
  for i = 1, n_limits do
    local amount = tonumber(ARGV[9 + 2 * i])
    local window = tonumber(ARGV[10 + 2 * i])
    local entry = redis.call('LINDEX', KEYS[i], amount - 1)
    if entry and tonumber(entry) >= stamp - window then
      return {'limited', i}
    end
  end
  for i = 1, n_limits do
    redis.call('LPUSH', KEYS[i], ARGV[9])
    redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[9 + 2 * i]) - 1)
    redis.call('EXPIRE', KEYS[i], ARGV[10 + 2 * i])
  end
end

local first = n_limits + 1
local stride = has_idem and 6 or 5
local n_recipients = (#KEYS - n_limits) / stride
-- Where the per-payload and per-recipient arguments start.
local base = 10 + 2 * n_limits

-- A recipient whose marker exists was sent this request already (a retry after a
-- partial failure completes only the others); another request's marker refuses all.
local prior = {}
if has_idem then
  for r = 0, n_recipients - 1 do
    local marker = redis.call('GET', KEYS[first + r * stride + 5])
    if marker then
      local sep = string.find(marker, '\n', 1, true)
      if string.sub(marker, 1, sep - 1) ~= fingerprint then
        return {'conflict'}
      end
      prior[r] = string.sub(marker, sep + 1)
    end
  end
end

-- Live flags (preferences, notifier.routing): what the live event tells the page.
-- 1: inside the recipient's quiet hours, not urgent (no toast or sound);
-- 2: in-app switched off for this type (kept in the inbox, not shown live).
local LIVE_FLAGS = {[0] = '', [1] = ',"quiet":true', [2] = ',"live":false',
                    [3] = ',"quiet":true,"live":false'}

local ids = {}
for r = 0, n_recipients - 1 do
  local at = first + r * stride
  if prior[r] then
    ids[#ids + 1] = '=' .. prior[r]
  else
    local inbox = KEYS[at]
    local unread = KEYS[at + 1]
    -- The user appears now, if not before: broadcasts from now on are theirs.
    redis.call('HSETNX', KEYS[at + 4], 'since', now)
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
      redis.call('SET', KEYS[at + 2], oldest[#oldest][1])
    end
    redis.call('ZREMRANGEBYSCORE', unread, '-inf', now)
    local count = redis.call('ZCARD', unread)
    local live = LIVE_FLAGS[tonumber(ARGV[base + 2 * n_payloads + n_recipients + r + 1])]
    redis.call(publish, KEYS[at + 3],
      '{"kind":"notification","id":"' .. id .. '","unread":' .. count .. live ..
      ',"notification":' .. payload .. '}')
    if has_idem then
      redis.call('SET', KEYS[at + 5], fingerprint .. '\n' .. id, 'EX', ARGV[5])
    end
    ids[#ids + 1] = id
  end
end
return ids
