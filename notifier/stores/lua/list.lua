-- A page of the inbox, newest first, with each entry's unread score and where it is.
-- KEYS: inbox stream, unread zset, archived zset, snoozed zset
-- ARGV: upper bound ('+' or '(<id>' for exclusive), count
-- Returns a flat list: id, payload, score-or-false, place (0 inbox, 1 archived,
-- 2 snoozed), ...
local entries = redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', ARGV[2])
local out = {}
for _, entry in ipairs(entries) do
  local id = entry[1]
  out[#out + 1] = id
  out[#out + 1] = entry[2][2]
  out[#out + 1] = redis.call('ZSCORE', KEYS[2], id)
  local place = 0
  if redis.call('ZSCORE', KEYS[3], id) then
    place = 1
  elseif redis.call('ZSCORE', KEYS[4], id) then
    place = 2
  end
  out[#out + 1] = place
end
return out
