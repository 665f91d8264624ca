-- Delete one notification and tell the user's open streams.
-- KEYS: inbox stream, unread zset, user channel, the notification's receipts, archived zset
-- ARGV: now_ms, id, publish command (PUBLISH or SPUBLISH)
-- Returns {1 if it existed else 0, unread count}.
local removed = redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[5], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local count = redis.call('ZCARD', KEYS[2])
if removed == 1 then
  redis.call(ARGV[3], KEYS[3],
    '{"kind":"deleted","ids":["' .. ARGV[2] .. '"],"unread":' .. count .. '}')
end
return {removed, count}
