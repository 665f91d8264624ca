-- Snooze notifications: out of the inbox list and the unread count until a time, and
-- tell the user's open streams with a "snoozed" event naming the ids.
-- KEYS: inbox stream, unread zset, archived zset, snoozed zset, snoozed-unread hash,
--       user channel
-- ARGV: now_ms, until_ms, publish command, then pairs of id and the unread score it
--       gets back (its expiry ms or +inf)
-- Archived and missing (deleted, trimmed) notifications are passed by; snoozing a
-- snoozed one moves its time.
-- Returns {number snoozed, unread count}.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local changed = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if not redis.call('ZSCORE', KEYS[3], id)
      and #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    redis.call('ZADD', KEYS[4], ARGV[2], id)
    redis.call('HSET', KEYS[5], id, ARGV[i + 1])
    redis.call('ZREM', KEYS[2], id)
    changed[#changed + 1] = id
  end
end
local count = redis.call('ZCARD', KEYS[2])
if #changed > 0 then
  redis.call(ARGV[3], KEYS[6],
    '{"kind":"snoozed","ids":["' .. table.concat(changed, '","') .. '"],"unread":' .. count .. '}')
end
return {#changed, count}
