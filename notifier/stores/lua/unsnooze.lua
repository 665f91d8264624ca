-- Bring snoozed notifications back to the inbox list, unread: those due (mode 'due')
-- or the given ones (mode 'ids'), and tell the user's open streams with a "restored"
-- event naming them.
-- KEYS: inbox stream, unread zset, archived zset, snoozed zset, snoozed-unread hash,
--       user channel
-- ARGV: now_ms, publish command, mode ('due' or 'ids'), then the ids (mode 'ids')
-- Deleted, trimmed, archived or expired ones only leave the snoozed set.
-- Returns {number back, unread count, when the next snoozed one is due (ms) or false}.
local now = tonumber(ARGV[1])
local ids
if ARGV[3] == 'due' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[1])
else
  ids = {}
  for i = 4, #ARGV do
    if redis.call('ZSCORE', KEYS[4], ARGV[i]) then ids[#ids + 1] = ARGV[i] end
  end
end
local back = {}
for _, id in ipairs(ids) do
  local score = redis.call('HGET', KEYS[5], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  if score and (score == '+inf' or tonumber(score) > now)
      and not redis.call('ZSCORE', KEYS[3], id)
      and #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    redis.call('ZADD', KEYS[2], score, id)
    back[#back + 1] = id
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local count = redis.call('ZCARD', KEYS[2])
if #back > 0 then
  redis.call(ARGV[2], KEYS[6],
    '{"kind":"restored","ids":["' .. table.concat(back, '","') .. '"],"unread":' .. count .. '}')
end
local next_due = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {#back, count, next_due[2] or false}
