-- Apply one worker's presence changes and publish the online/offline transitions
-- they cause, each exactly once: the script runs atomically, so of two workers
-- racing to take a user's last entry away only one sees the user leave.
--
-- A user is online while their entries zset (worker id -> expiry, ms on Redis's
-- clock) holds an entry that has not expired; `until` keeps each online user's
-- latest expiry, so a reader can tell an expired user without waiting for a sweep.
--
-- All keys and the channel are one presence partition's (one slot).
-- KEYS: until zset, online zset, since hash, last_seen hash,
--       then the entries zset of each user, in ARGV order
-- ARGV: channel, worker id, ttl ms, sweep limit, publish command (PUBLISH, or
--       SPUBLISH on a cluster), then per user: user id, op
--       '+' this worker holds a stream of the user: add or refresh its entry
--       '-' this worker's last stream of the user closed: remove its entry
--       '?' nothing from this worker: settle the user's expired entries
-- Returns {transitions published, {users whose every entry has expired (to settle
--          with '?'), up to the sweep limit}}
local until_key, online_key, since_key, seen_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local channel, worker, ttl, publish_command = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[5]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local published = 0

local function publish(user, online, at)
  redis.call(publish_command, channel, '{"user_id":"' .. user .. '","online":' .. tostring(online) ..
    ',"at":"' .. iso_utc(at) .. '"}')
  published = published + 1
end

local function went_offline(user, entries, at)
  redis.call('DEL', entries)
  redis.call('ZREM', until_key, user)
  redis.call('ZREM', online_key, user)
  redis.call('HDEL', since_key, user)
  redis.call('HSET', seen_key, user, at)
  publish(user, false, at)
end

for i = 5, #KEYS do
  local entries = KEYS[i]
  local user, op = ARGV[2 * (i - 4) + 4], ARGV[2 * (i - 4) + 5]
  local latest = tonumber(redis.call('ZSCORE', until_key, user))
  local online = latest ~= nil
  if online and latest <= now then
    -- Every entry has expired (their workers died): offline since the last did.
    went_offline(user, entries, latest)
    online = false
  else
    redis.call('ZREMRANGEBYSCORE', entries, '-inf', now)
  end
  if op == '+' then
    redis.call('ZADD', entries, now + ttl, worker)
  elseif op == '-' then
    redis.call('ZREM', entries, worker)
  end
  local top = redis.call('ZRANGE', entries, -1, -1, 'WITHSCORES')
  if top[2] then
    if not online then
      redis.call('ZADD', online_key, 0, user)
      redis.call('HSET', since_key, user, now)
      publish(user, true, now)
    end
    redis.call('ZADD', until_key, top[2], user)
  elseif online then
    went_offline(user, entries, now)
  end
end
return {published, redis.call('ZRANGEBYSCORE', until_key, '-inf', now, 'LIMIT', 0, ARGV[4])}
