-- Read many users' whole preference documents in one call (for routing sends).
-- KEYS: each user's preferences hash.
-- Returns, per key in order, its fields and values as HGETALL gives them (empty when
-- the user never saved preferences).
local found = {}
for i, key in ipairs(KEYS) do
  found[i] = redis.call('HGETALL', key)
end
return found
