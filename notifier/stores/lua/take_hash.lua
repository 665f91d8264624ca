-- Read a hash and delete it, as one: a one-time token is used once.
-- KEYS: the hash
-- Returns its fields and values as HGETALL gives them (empty when it is gone).
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return fields
