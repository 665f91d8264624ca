-- Archive notifications (out of the inbox list, read) or restore them, and tell the
-- user's open streams with an "archived" or a "restored" event naming the ids.
-- KEYS: inbox stream, unread zset, archived zset, user channel
-- ARGV: now_ms, mode ('archive' or 'restore'), receipt key prefix (Keys.receipts(user,
--       ""): the user's slot), receipt ttl seconds, publish command, then the ids
-- Marks of entries trimmed from the inbox are pruned first.
-- Returns {number changed, unread count}.
local now = ARGV[1]
local function ms_of(id)
  return tonumber(string.sub(id, 1, string.find(id, '-', 1, true) - 1))
end
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #oldest == 0 then
  redis.call('DEL', KEYS[3])
else
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ms_of(oldest[1][1]))
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local changed = {}
for i = 6, #ARGV do
  local id = ARGV[i]
  if ARGV[2] == 'archive' then
    if not redis.call('ZSCORE', KEYS[3], id)
        and #redis.call('XRANGE', KEYS[1], id, id) > 0 then
      redis.call('ZADD', KEYS[3], ms_of(id), id)
      changed[#changed + 1] = id
      if redis.call('ZREM', KEYS[2], id) == 1 then
        local key = ARGV[3] .. id
        redis.call('HSETNX', key, 'read_at', now)
        redis.call('HSETNX', key, 'seen_at', now)
        redis.call('EXPIRE', key, ARGV[4])
      end
    end
  elseif redis.call('ZREM', KEYS[3], id) == 1 then
    changed[#changed + 1] = id
  end
end
local count = redis.call('ZCARD', KEYS[2])
if #changed > 0 then
  local kind = ARGV[2] == 'archive' and 'archived' or 'restored'
  redis.call(ARGV[5], KEYS[4],
    '{"kind":"' .. kind .. '","ids":["' .. table.concat(changed, '","') .. '"],"unread":' .. count .. '}')
end
return {#changed, count}
