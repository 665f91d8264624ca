-- A page of the online users in user id order, and how many are online. Users
-- whose entries have all expired count as offline even before a sweep settles them.
-- KEYS: until zset, online zset, since hash
-- ARGV: cursor (the last user id of the previous page; '' for the first), limit
-- Returns {online count, next cursor or false, user id, online since (ms), ...}
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit = tonumber(ARGV[2])
local out = {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'), false}
local start = ARGV[1] == '' and '-' or '(' .. ARGV[1]
local found = 0
while limit > 0 do
  local batch = redis.call('ZRANGEBYLEX', KEYS[2], start, '+', 'LIMIT', 0, limit + 1)
  for _, user in ipairs(batch) do
    local latest = tonumber(redis.call('ZSCORE', KEYS[1], user))
    if latest and latest > now then
      if found == limit then
        out[2] = out[#out - 1]  -- one more exists: the page ends at the last user shown
        return out
      end
      out[#out + 1] = user
      out[#out + 1] = redis.call('HGET', KEYS[3], user)
      found = found + 1
    end
    start = '(' .. user
  end
  if #batch <= limit then
    break
  end
end
return out
