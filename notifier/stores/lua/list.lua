-- A page of the inbox, newest first, with each entry's unread score and archived mark.
-- KEYS: inbox stream, unread zset, archived zset
-- ARGV: upper bound ('+' or '(<id>' for exclusive), count
-- Returns a flat list: id, payload, score-or-false, archived (1 or 0), ...
local entries = redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', ARGV[2])
local out = {}
for _, entry in ipairs(entries) do
  local id = entry[1]
  out[#out + 1] = id
  out[#out + 1] = entry[2][2]
  out[#out + 1] = redis.call('ZSCORE', KEYS[2], id)
  out[#out + 1] = redis.call('ZSCORE', KEYS[3], id) and 1 or 0
end
return out
