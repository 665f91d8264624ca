-- Read the fields routing needs from many users' preferences in one call.
-- KEYS: each user's preferences hash. ARGV: the field names (the same for all).
-- Returns, per key in order: 0 when the user never saved preferences, else the
-- values of the fields (nil where absent), as HMGET gives them.
local found = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    found[i] = redis.call('HMGET', key, unpack(ARGV))
  else
    found[i] = 0
  end
end
return found
