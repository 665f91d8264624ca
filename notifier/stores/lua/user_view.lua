-- A user's unread count and view of broadcasts.
-- KEYS: broadcast state hash, unread zset
-- ARGV: now_ms, '1' to record that the user appears now (a stream opens) if
--       not before: broadcasts from then on are theirs
-- Returns {unread count, {field, value, ...} of the broadcast state}.
if ARGV[2] == '1' then
  redis.call('HSETNX', KEYS[1], 'since', ARGV[1])
end
return {redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[1], '+inf'), redis.call('HGETALL', KEYS[1])}
